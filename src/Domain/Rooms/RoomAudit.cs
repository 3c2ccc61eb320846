using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Rooms;

/// <summary>One event of a replayed timeline that the authorization rules refuse against the state before it.</summary>
public sealed record AuditFailure(int Index, MatrixEvent Event, AuthDecision Decision);

/// <summary>
/// Replays a room's timeline through the authorization rules: each event is checked against the state the events before
/// it made. A stream written by this engine must pass; an imported one is refused at its first failure.
/// </summary>
public static class RoomAudit
{
    public static AuditFailure? FirstFailure(IEnumerable<MatrixEvent> timeline)
    {
        var state = DictionaryAuthState.Empty;
        RoomVersion? version = null;
        var index = 0;
        foreach (var ev in timeline)
        {
            if (ev is CreateEvent create && index == 0) version = RoomVersion.Get(create.RoomVersion);
            var decision = version is null ? EventAuth.Check(ev, state) : EventAuth.Check(ev, state, version);
            if (!decision.Allowed) return new AuditFailure(index, ev, decision);
            state = state.Apply(ev);
            index++;
        }
        return null;
    }
}
