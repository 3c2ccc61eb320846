using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;

namespace Matrix.Rooms.Domain.Crypto;

/// <summary>The server that signs the events it appends: its name and its ed25519 key.</summary>
public sealed record ServerSignature(string ServerName, Ed25519SigningKey Key);

/// <summary>
/// Events decided by the rules become the PDUs the store keeps: each one completed (<see cref="Pdu.Complete"/>:
/// <c>auth_events</c>, <c>depth</c>, <c>hashes</c>, from v3 its event ID = reference hash) and signed by the server
/// (<see cref="EventSigning.Sign"/>), in order, so that each event after the first names the final ID of the one before.
/// </summary>
public static class PduChain
{
    /// <param name="events">Decided events of one room, in append order; the first one's <c>prev_events</c> already
    /// names the room's last stored event (or nothing, for a create event).</param>
    /// <param name="stateBefore">The room state before the first event, holding at least the auth events the spec
    /// selects for each event (<see cref="EventAuth.SelectAuthEvents"/>) — the write path loads
    /// <see cref="EventAuth.AuthEventKeys(MatrixEvent)"/>, a superset.</param>
    /// <param name="lastDepth">The depth of the room's last event (0 for a new room).</param>
    public static IReadOnlyList<MatrixEvent> Seal(IReadOnlyList<MatrixEvent> events, DictionaryAuthState stateBefore, RoomVersion version,
        long lastDepth, ServerSignature signer)
    {
        var sealedEvents = new List<MatrixEvent>(events.Count);
        var state = stateBefore;
        foreach (var decided in events)
        {
            var ev = sealedEvents.Count == 0 ? decided : decided.After(sealedEvents[^1].EventId, version);
            var sealedEvent = Seal(ev, Pdu.AuthEventsFor(ev, state, version), version, lastDepth + sealedEvents.Count + 1, signer);
            sealedEvents.Add(sealedEvent);
            state = state.Apply(sealedEvent);
        }
        return sealedEvents;
    }

    /// <summary>One event completed as a PDU and signed; the engine's form keeps <c>event_id</c> and <c>room_id</c>.</summary>
    public static MatrixEvent Seal(MatrixEvent ev, IReadOnlyList<MatrixEvent> authEvents, RoomVersion version, long depth, ServerSignature signer)
    {
        var completed = Pdu.Complete(ev, version, authEvents, depth);
        var signed = EventSigning.Sign(Pdu.Of(completed, version), version, signer.ServerName, signer.Key);
        signed["event_id"] = completed.EventId;
        signed["room_id"] = completed.RoomId;
        return MatrixEvent.FromJson(signed);
    }
}
