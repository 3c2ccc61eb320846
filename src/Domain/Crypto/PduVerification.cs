using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Crypto;

/// <summary>A server's public signing key, as <c>/_matrix/key/v2/server</c> publishes it.</summary>
public sealed record ServerVerifyKey(string ServerName, string KeyId, byte[] PublicKey);

/// <summary>One required signature: <see cref="Valid"/> is null when no key of the server is known (it cannot be checked offline).</summary>
public sealed record SignatureCheck(string ServerName, string? KeyId, bool? Valid);

/// <summary>What <see cref="PduVerification.Check"/> found for one event.</summary>
public sealed record PduCheck(bool ContentHashValid, bool? EventIdValid, IReadOnlyList<SignatureCheck> Signatures)
{
    /// <summary>The first thing that does not verify, or null. A signature whose key is unknown is not a failure.</summary>
    public string? Problem =>
        !ContentHashValid ? "its content hash (hashes.sha256) does not match the event"
        : EventIdValid == false ? "its event_id is not its reference hash"
        : Signatures.FirstOrDefault(s => s.Valid == false) is { } bad ? $"the signature of {bad.ServerName} ({bad.KeyId}) does not verify"
        : null;

    /// <summary>Servers whose signature could not be checked: no key of theirs is known.</summary>
    public IEnumerable<string> Unverified => Signatures.Where(s => s.Valid is null).Select(s => s.ServerName);

    public override string ToString() =>
        $"content hash: {(ContentHashValid ? "ok" : "MISMATCH")}; event ID: {EventIdValid switch { true => "= reference hash", false => "NOT the reference hash", null => "chosen by the sender (v1-v2)" }}; " +
        string.Join("; ", Signatures.Select(s => $"signature of {s.ServerName}{(s.KeyId is null ? "" : $" {s.KeyId}")}: " +
                                                  s.Valid switch { true => "ok", false => "INVALID", null => "unverified: no key" }));
}

/// <summary>
/// Spec (server-server API) "Validating hashes and signatures on received events", for an event as the engine stores or
/// exports it: its content hash, from v3 its event ID = reference hash, and the signature of each server that must sign
/// it (<see cref="EventSigning.RequiredSigners"/>) with the keys given.
/// </summary>
public static class PduVerification
{
    /// <summary>True when the event carries PDU hashes (it was appended as a PDU; seeded and older events do not).</summary>
    public static bool IsPdu(MatrixEvent ev) => ev.Extra?.ContainsKey("hashes") == true;

    public static PduCheck Check(MatrixEvent ev, RoomVersion version, IReadOnlyCollection<ServerVerifyKey> keys)
    {
        var pdu = Pdu.Of(ev, version);
        var contentHash = EventHashes.ContentHashMatches(pdu);
        bool? eventId = version.EventIdsHaveDomain ? null : EventHashes.EventId(pdu, version) == ev.EventId;
        var signatures = new List<SignatureCheck>();
        foreach (var server in EventSigning.RequiredSigners(ev.ToJson(), version))
        {
            var serverKeys = keys.Where(k => k.ServerName == server).ToList();
            if (serverKeys.Count == 0)
            {
                signatures.Add(new SignatureCheck(server, null, null));
                continue;
            }
            var valid = serverKeys.FirstOrDefault(k => EventSigning.Verify(pdu, version, server, k.KeyId, k.PublicKey).SignatureValid);
            signatures.Add(new SignatureCheck(server, (valid ?? serverKeys[0]).KeyId, valid is not null));
        }
        return new PduCheck(contentHash, eventId, signatures);
    }
}
