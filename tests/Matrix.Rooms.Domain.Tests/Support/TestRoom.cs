using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using NodaTime;

namespace Matrix.Rooms.Domain.Tests.Support;

/// <summary>
/// The one room builder of the Domain tests. A room created by Alice in a given room version, holding both its current
/// state (what the authorization rules read) and its timeline in stream order (what the history-visibility filter reads).
/// Authorization tests put state in place directly (<see cref="Put"/>) and build the event under test; events are
/// checked with <see cref="Check"/> against the state so far, and <see cref="Apply"/> checks and, when allowed, applies.
/// Visibility tests add named events (<see cref="Add"/>, <see cref="Join"/>, <see cref="Text"/>, …: the event ID is <c>$&lt;name&gt;</c>)
/// and ask who sees what (<see cref="VisibleTo"/>).
/// </summary>
public sealed class TestRoom
{
    public const string Server = "example.org";
    public const string RoomId = "!room:example.org";
    public const string Alice = "@alice:example.org";
    public const string Bob = "@bob:example.org";
    public const string Carol = "@carol:example.org";
    public const string Dave = "@dave:example.org";
    public const string Mallory = "@mallory:evil.example";

    private static readonly Instant Now = Instant.FromUtc(2024, 5, 1, 12, 0);
    private readonly List<MatrixEvent> _timeline;
    private int _next;

    private TestRoom(RoomVersion version, MatrixEvent create)
    {
        Version = version;
        // v12: the room ID is the create event's ID with the sigil !, and the create event has no room_id.
        Id = version.RoomIdIsCreateEventId ? Matrix.Rooms.Domain.Identifiers.RoomId.FromCreateEventId(create.EventId) : create.RoomId;
        CreateEvent = create;
        State = DictionaryAuthState.FromEvents(create);
        _timeline = [create];
    }

    public RoomVersion Version { get; }

    /// <summary>The room's ID: <see cref="RoomId"/>, or in v12 the create event's ID with <c>!</c>.</summary>
    public string Id { get; }

    public MatrixEvent CreateEvent { get; }
    public DictionaryAuthState State { get; private set; }

    /// <summary>Every event put in place or applied, in stream order, starting with the create event.</summary>
    public IReadOnlyList<MatrixEvent> Events => _timeline;

    /// <summary>A room whose create event (by <paramref name="creator"/>) is in place, nobody joined yet.</summary>
    public static TestRoom Empty(RoomVersion? version = null, string creator = Alice, JsonObject? createContent = null,
        string createEventId = "$create:example.org")
    {
        version ??= RoomVersion.V10; // the version these tests were written for; v12 has its own tests
        var content = createContent ?? new JsonObject { ["room_version"] = version.Id };
        if (createContent is null && !version.UseRoomCreateSender) content["creator"] = creator;
        var create = MatrixEvent.Create(EventTypes.Create, version.RoomIdIsCreateEventId ? "" : RoomId, creator, "", content, Now, createEventId);
        return new TestRoom(version, create);
    }

    /// <summary>For visibility tests: a room created and joined by Alice as the named events <c>$create</c>, <c>$alice_join</c>.</summary>
    public static TestRoom CreatedByAlice() =>
        Empty(createEventId: "$create").Membership("alice_join", Alice, Alice, Memberships.Join);

    /// <summary>A room Alice created and joined (as the first event after create).</summary>
    public static TestRoom Created(RoomVersion? version = null, string creator = Alice, JsonObject? createContent = null)
    {
        var room = Empty(version, creator, createContent);
        room.Put(room.FirstJoin(creator));
        return room;
    }

    /// <summary>The creator's join whose only prev event is the create event.</summary>
    public MatrixEvent FirstJoin(string user, string? sender = null) =>
        Member(sender ?? user, user, Memberships.Join) with { PrevEvents = [CreateEvent.EventId] };

    public MatrixEvent Member(string sender, string target, string membership, JsonObject? extraContent = null)
    {
        var content = new JsonObject { ["membership"] = membership };
        if (extraContent is not null)
            foreach (var (key, value) in extraContent)
                content[key] = value?.DeepClone();
        return Event(EventTypes.Member, sender, target, content);
    }

    public MatrixEvent StateEvent(string type, string sender, JsonObject content, string stateKey = "") =>
        Event(type, sender, stateKey, content);

    public MatrixEvent Message(string sender, string type = EventTypes.Message) =>
        Event(type, sender, null, new JsonObject { ["msgtype"] = "m.text", ["body"] = "hello" });

    public MatrixEvent PowerLevelsEvent(JsonObject content, string sender = Alice) =>
        Event(EventTypes.PowerLevels, sender, "", content);

    public MatrixEvent Redaction(string sender, string? redacts, string? eventId = null)
    {
        var content = new JsonObject { ["reason"] = "spam" };
        if (Version.RedactsInContent && redacts is not null) content["redacts"] = redacts;
        var ev = Event(EventTypes.Redaction, sender, null, content, eventId);
        return Version.RedactsInContent ? ev : ev with { Redacts = redacts };
    }

    public MatrixEvent Event(string type, string sender, string? stateKey, JsonObject content, string? eventId = null) =>
        MatrixEvent.Create(type, Id, sender, stateKey, content, Now.Plus(Duration.FromSeconds(++_next)),
            eventId ?? $"$ev{_next}:{Server}");

    /// <summary>Puts a state event in place without checking it (for arranging a test).</summary>
    public TestRoom Put(MatrixEvent ev)
    {
        State = State.Apply(ev);
        _timeline.Add(ev);
        return this;
    }

    public TestRoom Joined(params string[] users)
    {
        foreach (var user in users) Put(Member(user, user, Memberships.Join));
        return this;
    }

    public TestRoom WithMembership(string user, string membership, string sender = Alice) =>
        Put(Member(membership is Memberships.Join or Memberships.Knock ? user : sender, user, membership));

    public TestRoom WithJoinRule(string joinRule) =>
        Put(StateEvent(EventTypes.JoinRules, Alice, new JsonObject { ["join_rule"] = joinRule }));

    public TestRoom WithPowerLevels(JsonObject content) => Put(PowerLevelsEvent(content));

    /// <summary>Power levels giving the listed users their levels (Alice 100 unless listed), other fields default.</summary>
    public TestRoom WithLevels(params (string User, long Level)[] users)
    {
        var map = new JsonObject { [Alice] = 100 };
        foreach (var (user, level) in users) map[user] = level;
        return WithPowerLevels(new JsonObject { ["users"] = map });
    }

    public AuthDecision Check(MatrixEvent ev) => EventAuth.Check(ev, State);

    /// <summary>Checks <paramref name="ev"/> and applies it when allowed; returns the decision.</summary>
    public AuthDecision Apply(MatrixEvent ev)
    {
        var decision = Check(ev);
        if (decision.Allowed) Put(ev);
        return decision;
    }

    public string? MembershipOf(string user) =>
        State.Get(new StateKey(EventTypes.Member, user))?.ContentString("membership");

    // Named events for timeline tests: each is put in place unchecked, with the event ID $<name>.

    public TestRoom Add(string name, string type, string sender, string? stateKey, JsonObject content) =>
        Put(Event(type, sender, stateKey, content, "$" + name));

    public TestRoom Membership(string name, string sender, string target, string membership) =>
        Add(name, EventTypes.Member, sender, target, new JsonObject { ["membership"] = membership });

    public TestRoom Join(string name, string user) => Membership(name, user, user, Memberships.Join);
    public TestRoom Leave(string name, string user) => Membership(name, user, user, Memberships.Leave);
    public TestRoom Invite(string name, string target) => Membership(name, Alice, target, Memberships.Invite);
    public TestRoom Kick(string name, string target) => Membership(name, Alice, target, Memberships.Leave);
    public TestRoom Ban(string name, string target) => Membership(name, Alice, target, Memberships.Ban);

    public TestRoom HistoryVisibility(string name, string? value) =>
        Add(name, EventTypes.HistoryVisibility, Alice, "",
            value is null ? new JsonObject() : new JsonObject { ["history_visibility"] = value });

    public TestRoom Text(string name, string sender = Alice) =>
        Add(name, EventTypes.Message, sender, null, new JsonObject { ["msgtype"] = "m.text", ["body"] = name });

    public TestRoom Topic(string name, string topic) =>
        Add(name, EventTypes.Topic, Alice, "", new JsonObject { ["topic"] = topic });

    /// <summary>The IDs (without <c>$</c>) of the events <paramref name="user"/> may see, in stream order.</summary>
    public string[] VisibleTo(string user) =>
        Matrix.Rooms.Domain.Visibility.HistoryVisibilityFilter.VisibleEvents(_timeline, user)
            .Select(e => e.EventId[1..])
            .ToArray();
}
