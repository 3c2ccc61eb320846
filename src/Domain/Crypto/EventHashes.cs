using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;

namespace Matrix.Rooms.Domain.Crypto;

/// <summary>
/// An event as the server-server API sends it (a PDU) for its room version: <see cref="Of"/> turns a
/// <see cref="MatrixEvent"/> into one. From v3 a PDU has no <c>event_id</c> (the ID is its reference hash), and in
/// v12 the <c>m.room.create</c> event has no <c>room_id</c> (the room ID is the create event's ID).
/// </summary>
public static class Pdu
{
    /// <summary>The PDU JSON of <paramref name="ev"/> in <paramref name="version"/>: its JSON without the fields the version's PDU format does not have.</summary>
    public static JsonObject Of(MatrixEvent ev, RoomVersion version) => Normalise(ev.ToJson(), version);

    /// <summary>
    /// A copy of <paramref name="json"/> without <c>event_id</c> when the version's event IDs are hashes (v3+), and
    /// without the v12 create event's <c>room_id</c>: the PDU has none; the engine's own form names the room derived
    /// from it (or holds an empty one).
    /// </summary>
    public static JsonObject Normalise(JsonObject json, RoomVersion version)
    {
        var pdu = (JsonObject)json.DeepClone();
        if (!version.EventIdsHaveDomain) pdu.Remove("event_id");
        if (pdu["room_id"] is JsonValue r && r.TryGetValue<string>(out var roomId)
            && (roomId.Length == 0 || (version.RoomIdIsCreateEventId && pdu["type"]?.GetValue<string>() == EventTypes.Create)))
            pdu.Remove("room_id");
        return pdu;
    }

    /// <summary>
    /// The auth events of <paramref name="ev"/> (spec "Auth events selection", <see cref="EventAuth.SelectAuthEvents"/>)
    /// that <paramref name="state"/> holds, in the selection's order.
    /// </summary>
    public static IReadOnlyList<MatrixEvent> AuthEventsFor(MatrixEvent ev, IAuthState state, RoomVersion version) =>
        EventAuth.SelectAuthEvents(ev, version).Select(state.Get).OfType<MatrixEvent>().ToList();

    /// <summary><c>auth_events</c> as <paramref name="version"/> writes them: event IDs from v3; <c>[event_id, {"sha256": reference hash}]</c> pairs in v1–v2.</summary>
    public static JsonArray AuthEventsJson(IReadOnlyList<MatrixEvent> authEvents, RoomVersion version)
    {
        var auth = new JsonArray();
        foreach (var authEvent in authEvents)
            auth.Add(PduChain.ReferenceHashOf(authEvent, version) is { } hash
                ? new JsonArray(authEvent.EventId, new JsonObject { ["sha256"] = hash })
                : JsonValue.Create(authEvent.EventId));
        return auth;
    }

    /// <summary>
    /// <paramref name="ev"/> completed as a PDU of <paramref name="version"/>: <c>auth_events</c> (event IDs from v3;
    /// <c>[event_id, {"sha256": reference hash}]</c> pairs in v1–v2), <c>depth</c>, <c>prev_events</c> (<c>[]</c> when
    /// it has none) and <c>hashes.sha256</c>; from v3 its event ID becomes its reference hash. The signature is not
    /// added here (<see cref="EventSigning.Sign"/> on <see cref="Of"/>): signatures do not change the reference hash,
    /// so signing afterwards keeps the ID.
    /// </summary>
    public static MatrixEvent Complete(MatrixEvent ev, RoomVersion version, IReadOnlyList<MatrixEvent> authEvents, long depth)
    {
        var json = ev.ToJson();
        json["auth_events"] = AuthEventsJson(authEvents, version);
        json["depth"] = depth;
        json["prev_events"] ??= new JsonArray();
        var hashed = EventHashes.WithContentHash(Normalise(json, version));
        if (!version.EventIdsHaveDomain) hashed["event_id"] = EventHashes.EventId(hashed, version);
        hashed["room_id"] = ev.RoomId;
        return MatrixEvent.FromJson(hashed);
    }
}

/// <summary>
/// Spec (server-server API) "Calculating the content hash for an event" and "Calculating the reference hash for an
/// event", and the event and room IDs made from the reference hash (room versions: "Event IDs"; v12 room IDs).
/// </summary>
public static class EventHashes
{
    /// <summary>"First, any existing unsigned, signatures, and hashes properties are removed. The resulting object is
    /// then encoded as Canonical JSON, and the JSON is hashed using SHA-256."</summary>
    public static byte[] ContentHash(JsonObject pdu) =>
        SHA256.HashData(CanonicalJson.Encode(Without(pdu, "unsigned", "signatures", "hashes")));

    /// <summary>A copy of <paramref name="pdu"/> whose <c>hashes</c> is <c>{"sha256": content hash}</c> (unpadded Base64).</summary>
    public static JsonObject WithContentHash(JsonObject pdu)
    {
        var hashed = (JsonObject)pdu.DeepClone();
        hashed["hashes"] = new JsonObject { ["sha256"] = UnpaddedBase64.Encode(ContentHash(pdu)) };
        return hashed;
    }

    /// <summary>True when <c>hashes.sha256</c> is present and equals the content hash (false, never an exception, otherwise).</summary>
    public static bool ContentHashMatches(JsonObject pdu) =>
        pdu["hashes"] is JsonObject hashes && hashes["sha256"] is JsonValue v && v.TryGetValue<string>(out var encoded)
        && UnpaddedBase64.TryDecode(encoded, out var claimed)
        && CanonicalJson.TryEncode(Without(pdu, "unsigned", "signatures", "hashes"), out var bytes, out _)
        && CryptographicOperations.FixedTimeEquals(claimed, SHA256.HashData(bytes));

    /// <summary>
    /// "1. The event is put through the redaction algorithm. 2. The signatures and unsigned properties are removed
    /// from the event, if present. 3. The event is converted into Canonical JSON. 4. A sha256 hash is calculated on
    /// the resulting JSON object." From v3 an <c>event_id</c> the caller left in is not part of the PDU and is not
    /// hashed (see <see cref="Pdu.Normalise"/>).
    /// </summary>
    public static byte[] ReferenceHash(JsonObject pdu, RoomVersion version) =>
        SHA256.HashData(CanonicalJson.Encode(Without(Redaction.Redact(Pdu.Normalise(pdu, version), version), "signatures", "unsigned")));

    /// <summary>
    /// The event ID of <paramref name="pdu"/> from v3: <c>$</c> + its reference hash in unpadded Base64 — the
    /// standard alphabet in v3, URL-safe from v4. In v1–v2 event IDs are <c>$opaque:server</c>, chosen by the sending
    /// server, so there is nothing to compute: this throws there.
    /// </summary>
    public static string EventId(JsonObject pdu, RoomVersion version)
    {
        if (version.EventIdsHaveDomain)
            throw new InvalidOperationException($"In {version} event IDs are $opaque:server, not reference hashes");
        var hash = ReferenceHash(pdu, version);
        return "$" + (version.UrlSafeEventIds ? UnpaddedBase64.EncodeUrlSafe(hash) : UnpaddedBase64.Encode(hash));
    }

    /// <summary>
    /// v12: the room ID a create event makes — its event ID with the sigil <c>!</c> instead of <c>$</c>
    /// (<c>!</c> + URL-safe unpadded Base64 of its reference hash).
    /// </summary>
    public static string RoomIdOfCreate(JsonObject createPdu, RoomVersion version)
    {
        if (!version.RoomIdIsCreateEventId)
            throw new InvalidOperationException($"In {version} the room ID is not derived from the create event");
        return RoomId.FromCreateEventId(EventId(createPdu, version));
    }

    internal static JsonObject Without(JsonObject json, params string[] keys)
    {
        var copy = new JsonObject();
        foreach (var (key, value) in json)
            if (Array.IndexOf(keys, key) < 0)
                copy[key] = value?.DeepClone();
        return copy;
    }
}

/// <summary>What <see cref="EventSigning.Verify"/> found for one event and one signing key.</summary>
public sealed record EventVerification(bool SignatureValid, bool ContentHashValid)
{
    /// <summary>The signature verifies and the content hash matches: the event is as its sender sent it.</summary>
    public bool Valid => SignatureValid && ContentHashValid;

    /// <summary>
    /// The signature verifies but the content hash does not: per the spec, "the receiving server should use the
    /// redacted copy it calculated rather than the full copy it received".
    /// </summary>
    public bool UseRedactedCopy => SignatureValid && !ContentHashValid;
}

/// <summary>
/// Spec (server-server API) "Signing Events": "Adding hashes and signatures to outgoing events" (content hash into
/// <c>hashes.sha256</c>, then the redacted event is signed and the signature copied back) and "Validating hashes and
/// signatures on received events".
/// </summary>
public static class EventSigning
{
    /// <summary>
    /// A copy of <paramref name="pdu"/> with its content hash and the signature of <paramref name="serverName"/>
    /// under <paramref name="key"/>: the hash is computed on the full event, the signature on its redacted form, so it
    /// still verifies after a redaction. Other servers' signatures already present are kept.
    /// </summary>
    public static JsonObject Sign(JsonObject pdu, RoomVersion version, string serverName, Ed25519SigningKey key)
    {
        var hashed = EventHashes.WithContentHash(Pdu.Normalise(pdu, version));
        var signedRedacted = Ed25519Signing.SignJson(Redaction.Redact(hashed, version), serverName, key);
        hashed["signatures"] = signedRedacted["signatures"]!.DeepClone();
        return hashed;
    }

    /// <summary>
    /// Checks the signature of <paramref name="serverName"/> under <paramref name="keyId"/> on the redacted event
    /// ("this step should succeed whether we have been sent the full event or a redacted copy"), and the content hash.
    /// </summary>
    public static EventVerification Verify(JsonObject pdu, RoomVersion version, string serverName, string keyId, ReadOnlySpan<byte> publicKey)
    {
        var normal = Pdu.Normalise(pdu, version);
        var signatureValid = Ed25519Signing.VerifyJson(Redaction.Redact(normal, version), serverName, keyId, publicKey);
        return new EventVerification(signatureValid, EventHashes.ContentHashMatches(normal));
    }

    /// <summary>
    /// The servers whose signatures an event needs: the <c>sender</c>'s server; in v1–v2 also the server of the
    /// <c>event_id</c> when it differs. (A third-party invite's exchange is the caller's special case.)
    /// </summary>
    public static IReadOnlyList<string> RequiredSigners(JsonObject pdu, RoomVersion version)
    {
        var servers = new List<string>(2);
        if (UserId.ServerOf(pdu["sender"] is JsonValue s && s.TryGetValue<string>(out var sender) ? sender : null) is { } senderServer)
            servers.Add(senderServer);
        if (version.EventIdsHaveDomain && pdu["event_id"] is JsonValue e && e.TryGetValue<string>(out var eventId)
            && RedactionRules.DomainOf(eventId) is { } eventServer && !servers.Contains(eventServer))
            servers.Add(eventServer);
        return servers;
    }
}
