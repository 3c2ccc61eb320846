using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Rooms;

/// <summary>One event of a replayed timeline that the authorization rules refuse against the state before it.</summary>
public sealed record AuditFailure(int Index, MatrixEvent Event, AuthDecision Decision);

/// <summary>
/// Replays a room's timeline through the authorization rules one event at a time: each event is checked against the
/// state the accepted events before it made (the room version comes from the first <c>m.room.create</c>). Streaming, so
/// an import can check a room of any length without holding it in memory.
/// </summary>
public sealed class TimelineChecker
{
    private DictionaryAuthState _state = DictionaryAuthState.Empty;

    /// <summary>The room version, once the create event has been accepted.</summary>
    public RoomVersion? Version { get; private set; }

    /// <summary>Decides <paramref name="ev"/> against the state so far; an allowed event becomes part of that state.</summary>
    public AuthDecision Accept(MatrixEvent ev)
    {
        var version = Version ?? (ev is CreateEvent create ? RoomVersion.Get(create.RoomVersion) : null);
        var decision = version is null ? EventAuth.Check(ev, _state) : EventAuth.Check(ev, _state, version);
        if (!decision.Allowed) return decision;
        Version = version;
        _state = _state.Apply(ev);
        return decision;
    }
}

/// <summary>Checks a whole stored timeline: a stream written by this engine must pass; an imported one is refused at its first failure.</summary>
public static class RoomAudit
{
    public static AuditFailure? FirstFailure(IEnumerable<MatrixEvent> timeline)
    {
        var checker = new TimelineChecker();
        var index = 0;
        foreach (var ev in timeline)
        {
            var decision = checker.Accept(ev);
            if (!decision.Allowed) return new AuditFailure(index, ev, decision);
            index++;
        }
        return null;
    }
}
