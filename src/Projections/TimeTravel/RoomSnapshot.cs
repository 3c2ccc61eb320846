using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten.Events.Aggregation;
using Matrix.Rooms.Domain.Events;
using NodaTime;

namespace Matrix.Rooms.Projections.TimeTravel;

/// <summary>
/// A room's state folded from its stream, one event at a time: every piece of current state with the stream version
/// that set it, the third-party invite tokens already claimed by a member event, and where the fold stopped.
/// Marten builds it by live aggregation (<see cref="RoomSnapshotProjection"/>, never stored), so "the state at version
/// N" and "the state at instant T" are <c>AggregateStreamAsync</c> with a version or a timestamp.
/// </summary>
public sealed class RoomSnapshot
{
    /// <summary>The room ID (the stream key).</summary>
    public string Id { get; set; } = "";

    /// <summary>The stream version of the last event folded in (= the number of events folded).</summary>
    public long Version { get; set; }

    public long LastSequence { get; set; }
    public string? LastEventId { get; set; }
    public Instant LastOriginServerTs { get; set; }

    /// <summary>When the event store recorded the last event (what <c>--at</c> compares with).</summary>
    public DateTimeOffset LastStoredAt { get; set; }

    /// <summary>The current event for each (type, state_key), with the version that set it.</summary>
    public Dictionary<StateKey, VersionedEvent> State { get; } = new();

    /// <summary>Tokens of m.room.third_party_invite events that an m.room.member invite has since claimed.</summary>
    public HashSet<string> ClaimedInviteTokens { get; } = new(StringComparer.Ordinal);

    public MatrixEvent? Get(string type, string stateKey = "") =>
        State.TryGetValue(new StateKey(type, stateKey), out var entry) ? entry.Event : null;

    /// <summary>Folds one stored event in. Events must come in stream order.</summary>
    public RoomSnapshot Fold(MatrixEvent ev, long version, long sequence, DateTimeOffset storedAt)
    {
        if (Id.Length == 0) Id = ev.RoomId;
        Version = version;
        LastSequence = sequence;
        LastEventId = ev.EventId;
        LastOriginServerTs = ev.OriginServerTs;
        LastStoredAt = storedAt;
        if (ev.IsState) State[ev.Key] = new VersionedEvent(ev, version);
        if (ev is MemberEvent { ThirdPartyInviteToken: { } token }) ClaimedInviteTokens.Add(token);
        return this;
    }
}

/// <summary>A state event and the stream version at which it was appended.</summary>
public readonly record struct VersionedEvent(MatrixEvent Event, long Version);

/// <summary>
/// The live aggregation that builds <see cref="RoomSnapshot"/> from a room's stream. Registered with the Live lifecycle:
/// nothing is stored, the fold runs when <c>AggregateStreamAsync&lt;RoomSnapshot&gt;</c> asks for it.
/// </summary>
public sealed partial class RoomSnapshotProjection : SingleStreamProjection<RoomSnapshot, string>
{
    public RoomSnapshotProjection()
    {
        Name = "room_snapshot";
        foreach (var (clr, _) in MatrixEvent.StoredTypes) IncludeType(clr);
    }

    public override RoomSnapshot? Evolve(RoomSnapshot? snapshot, string id, IEvent e) =>
        e.Data is MatrixEvent ev
            ? (snapshot ?? new RoomSnapshot { Id = id }).Fold(ev, e.Version, e.Sequence, e.Timestamp)
            : snapshot;
}
