using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;
using NodaTime;

namespace Matrix.Rooms.Domain.Tests.Visibility;

/// <summary>Builds a room's timeline in stream order for visibility tests; each event gets the ID <c>$&lt;name&gt;</c>.</summary>
internal sealed class TestRoom
{
    public const string RoomId = "!vis:example.org";
    public const string Alice = "@alice:example.org";
    public const string Bob = "@bob:example.org";
    public const string Carol = "@carol:example.org";

    private readonly List<MatrixEvent> _events = [];
    private Instant _clock = Instant.FromUtc(2024, 1, 1, 0, 0);

    public IReadOnlyList<MatrixEvent> Events => _events;

    /// <summary>A room created and joined by Alice: <c>$create</c>, <c>$alice_join</c>.</summary>
    public static TestRoom CreatedByAlice() =>
        new TestRoom()
            .Add("create", EventTypes.Create, Alice, "", new JsonObject { ["room_version"] = "10" })
            .Member("alice_join", Alice, Alice, Memberships.Join);

    public TestRoom Add(string name, string type, string sender, string? stateKey, JsonObject content)
    {
        _clock += Duration.FromSeconds(1);
        _events.Add(MatrixEvent.Create(type, RoomId, sender, stateKey, content, _clock, "$" + name));
        return this;
    }

    public TestRoom Member(string name, string sender, string target, string membership) =>
        Add(name, EventTypes.Member, sender, target, new JsonObject { ["membership"] = membership });

    public TestRoom Join(string name, string user) => Member(name, user, user, Memberships.Join);
    public TestRoom Leave(string name, string user) => Member(name, user, user, Memberships.Leave);
    public TestRoom Invite(string name, string target) => Member(name, Alice, target, Memberships.Invite);
    public TestRoom Kick(string name, string target) => Member(name, Alice, target, Memberships.Leave);
    public TestRoom Ban(string name, string target) => Member(name, Alice, target, Memberships.Ban);

    public TestRoom HistoryVisibility(string name, string? value) =>
        Add(name, EventTypes.HistoryVisibility, Alice, "",
            value is null ? new JsonObject() : new JsonObject { ["history_visibility"] = value });

    public TestRoom Message(string name, string sender = Alice) =>
        Add(name, EventTypes.Message, sender, null, new JsonObject { ["msgtype"] = "m.text", ["body"] = name });

    public TestRoom Topic(string name, string topic) =>
        Add(name, EventTypes.Topic, Alice, "", new JsonObject { ["topic"] = topic });

    /// <summary>The IDs (without <c>$</c>) of the events <paramref name="user"/> may see.</summary>
    public string[] VisibleTo(string user) =>
        Matrix.Rooms.Domain.Visibility.HistoryVisibilityFilter.VisibleEvents(_events, user)
            .Select(e => e.EventId[1..])
            .ToArray();
}
