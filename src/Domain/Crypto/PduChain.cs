using System.Security.Cryptography;
using System.Text.Json.Nodes;
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
/// A member event also notes its target's membership before it (<see cref="MemberEvent.PreviousMembership"/>, unsigned).
/// </summary>
public static class PduChain
{
    /// <param name="events">Decided events of one room, in append order; the first one's <c>prev_events</c> already
    /// names the room's last stored event (or nothing, for a create event).</param>
    /// <param name="stateBefore">The room state before the first event, holding at least the auth events the spec
    /// selects for each event (<see cref="EventAuth.SelectAuthEvents"/>) — the write path loads
    /// <see cref="EventAuth.AuthEventKeys(MatrixEvent)"/>, a superset.</param>
    /// <param name="lastDepth">The depth of the room's last event (0 for a new room).</param>
    /// <param name="lastReferenceHash">v1–v2: the reference hash of the room's last stored event (unpadded Base64), which
    /// the first event's <c>prev_events</c> pair carries (<see cref="Timeline.After"/>); null when unknown or from v3.</param>
    public static IReadOnlyList<MatrixEvent> Seal(IReadOnlyList<MatrixEvent> events, DictionaryAuthState stateBefore, RoomVersion version,
        long lastDepth, ServerSignature signer, string? lastReferenceHash = null)
    {
        var sealedEvents = new List<MatrixEvent>(events.Count);
        var state = stateBefore;
        foreach (var decided in events)
        {
            var ev = MemberEvent.WithPreviousMembership(sealedEvents.Count == 0
                ? decided.WithPreviousReferenceHash(lastReferenceHash, version)
                : decided.After(sealedEvents[^1].EventId, version, ReferenceHashOf(sealedEvents[^1], version)), state);
            var sealedEvent = Seal(ev, Pdu.AuthEventsFor(ev, state, version), version, lastDepth + sealedEvents.Count + 1, signer);
            sealedEvents.Add(sealedEvent);
            state = state.Apply(sealedEvent);
        }
        return sealedEvents;
    }

    /// <summary>v1–v2: the reference hash (unpadded Base64) the next event's <c>prev_events</c> pair names; null from v3,
    /// where the event ID is the reference hash and <c>prev_events</c> holds IDs only.</summary>
    public static string? ReferenceHashOf(MatrixEvent ev, RoomVersion version) =>
        version.EventIdsHaveDomain ? UnpaddedBase64.Encode(EventHashes.ReferenceHash(Pdu.Of(ev, version), version)) : null;

    /// <summary>
    /// One event completed as a PDU and signed; the engine's form keeps <c>event_id</c> and <c>room_id</c>. The same
    /// event as <see cref="Pdu.Complete"/> followed by <see cref="EventSigning.Sign"/> (a test holds them equal), made on
    /// one JSON tree: the reference hash and the signature cover the same bytes (the redacted PDU without
    /// <c>signatures</c> and <c>unsigned</c>), so they are encoded once — the bulk seeder seals every event it writes.
    /// </summary>
    public static MatrixEvent Seal(MatrixEvent ev, IReadOnlyList<MatrixEvent> authEvents, RoomVersion version, long depth, ServerSignature signer)
    {
        var json = ev.ToJson();
        json["auth_events"] = Pdu.AuthEventsJson(authEvents, version);
        json["depth"] = depth;
        json["prev_events"] ??= new JsonArray();
        // The PDU: no event_id from v3 (it is the reference hash), no room_id on a v12 create (or an empty one).
        if (!version.EventIdsHaveDomain) json.Remove("event_id");
        if (ev.RoomId.Length == 0 || (version.RoomIdIsCreateEventId && ev.Type == EventTypes.Create)) json.Remove("room_id");
        // "Calculating the content hash": without unsigned, signatures and hashes.
        var unsigned = json["unsigned"];
        json.Remove("unsigned");
        json.Remove("signatures");
        json.Remove("hashes");
        json["hashes"] = new JsonObject { ["sha256"] = UnpaddedBase64.Encode(SHA256.HashData(CanonicalJson.Encode(json))) };
        // Reference hash and signature: the redacted event without signatures and unsigned (there are none yet).
        var redacted = CanonicalJson.Encode(Redaction.Redact(json, version));
        json["signatures"] = new JsonObject
        {
            [signer.ServerName] = new JsonObject { [signer.Key.KeyId] = UnpaddedBase64.Encode(signer.Key.Sign(redacted)) },
        };
        if (unsigned is not null) json["unsigned"] = unsigned;
        var hash = SHA256.HashData(redacted);
        json["event_id"] = version.EventIdsHaveDomain ? ev.EventId
            : "$" + (version.UrlSafeEventIds ? UnpaddedBase64.EncodeUrlSafe(hash) : UnpaddedBase64.Encode(hash));
        json["room_id"] = ev.RoomId;
        return MatrixEvent.FromJson(json);
    }
}
