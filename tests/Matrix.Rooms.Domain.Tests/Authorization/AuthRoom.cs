using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using NodaTime;

namespace Matrix.Rooms.Domain.Tests.Authorization;

/// <summary>
/// A room for authorization tests: created by Alice (who joined right after the create event) in a given room version,
/// with helpers that put state in place directly (<see cref="Put"/>) and build the event under test. Events are
/// checked with <see cref="Check"/> against the state so far; <see cref="Apply"/> checks and, when allowed, applies.
/// </summary>
public sealed class AuthRoom
{
    public const string Server = "example.org";
    public const string RoomId = "!room:example.org";
    public const string Alice = "@alice:example.org";
    public const string Bob = "@bob:example.org";
    public const string Carol = "@carol:example.org";
    public const string Dave = "@dave:example.org";
    public const string Mallory = "@mallory:evil.example";

    private static readonly Instant Now = Instant.FromUtc(2024, 5, 1, 12, 0);
    private int _next;

    private AuthRoom(RoomVersion version, MatrixEvent create)
    {
        Version = version;
        CreateEvent = create;
        State = DictionaryAuthState.FromEvents(create);
    }

    public RoomVersion Version { get; }
    public MatrixEvent CreateEvent { get; }
    public DictionaryAuthState State { get; private set; }

    /// <summary>A room whose create event (by <paramref name="creator"/>) is in place, nobody joined yet.</summary>
    public static AuthRoom Empty(RoomVersion? version = null, string creator = Alice, JsonObject? createContent = null)
    {
        version ??= RoomVersion.Default;
        var content = createContent ?? new JsonObject { ["room_version"] = version.Id };
        if (createContent is null && !version.UseRoomCreateSender) content["creator"] = creator;
        var create = MatrixEvent.Create(EventTypes.Create, RoomId, creator, "", content, Now, "$create:example.org");
        return new AuthRoom(version, create);
    }

    /// <summary>A room Alice created and joined (as the first event after create).</summary>
    public static AuthRoom Created(RoomVersion? version = null, string creator = Alice, JsonObject? createContent = null)
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
        MatrixEvent.Create(type, RoomId, sender, stateKey, content, Now.Plus(Duration.FromSeconds(++_next)),
            eventId ?? $"$ev{_next}:{Server}");

    /// <summary>Puts a state event in place without checking it (for arranging a test).</summary>
    public AuthRoom Put(MatrixEvent ev)
    {
        State = State.Apply(ev);
        return this;
    }

    public AuthRoom Joined(params string[] users)
    {
        foreach (var user in users) Put(Member(user, user, Memberships.Join));
        return this;
    }

    public AuthRoom WithMembership(string user, string membership, string sender = Alice) =>
        Put(Member(membership is Memberships.Join or Memberships.Knock ? user : sender, user, membership));

    public AuthRoom WithJoinRule(string joinRule) =>
        Put(StateEvent(EventTypes.JoinRules, Alice, new JsonObject { ["join_rule"] = joinRule }));

    public AuthRoom WithPowerLevels(JsonObject content) => Put(PowerLevelsEvent(content));

    /// <summary>Power levels giving the listed users their levels (Alice 100 unless listed), other fields default.</summary>
    public AuthRoom WithLevels(params (string User, long Level)[] users)
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
        if (decision.Allowed) State = State.Apply(ev);
        return decision;
    }

    public string? MembershipOf(string user) =>
        State.Get(new StateKey(EventTypes.Member, user))?.ContentString("membership");
}
