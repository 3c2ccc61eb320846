using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;

namespace Matrix.Rooms.Domain.Rooms;

/// <summary>
/// This engine is one homeserver, so a room's timeline is a line: each event's only <c>prev_events</c> entry is the event
/// before it, written in the room version's shape (pairs <c>[[id, hashes]]</c> in v1–v2, plain IDs from v3).
/// </summary>
public static class Timeline
{
    /// <summary>
    /// Places <paramref name="ev"/> after <paramref name="previousEventId"/> in a room of <paramref name="version"/>:
    /// sets <c>prev_events</c>, and in v1–v2 (where event IDs are <c>$opaque:server</c> and the redaction rule compares
    /// their domains) gives the event ID the sender's server.
    /// </summary>
    /// <param name="previousReferenceHash">v1–v2 (the PDU format's <c>[event_id, {"sha256": reference hash}]</c> pairs, as
    /// for <c>auth_events</c>): the previous event's reference hash, unpadded Base64; when it is not known yet the pair holds
    /// <c>{}</c> and <see cref="WithPreviousReferenceHash"/> fills it in when the event is sealed.</param>
    public static MatrixEvent After(this MatrixEvent ev, string? previousEventId, RoomVersion version, string? previousReferenceHash = null)
    {
        if (version.EventIdsHaveDomain && !ev.EventId.Contains(':') && UserId.ServerOf(ev.Sender) is { } server)
            ev = ev with { EventId = $"{ev.EventId}:{server}" };
        return previousEventId is null
            ? ev with { PrevEvents = null }
            : ev with
            {
                PrevEvents = version.EventIdsHaveDomain
                    ? new JsonArray(new JsonArray(previousEventId, HashesOf(previousReferenceHash)))
                    : new JsonArray(previousEventId),
            };
    }

    /// <summary>v1–v2: <paramref name="ev"/> with its <c>prev_events</c> pair carrying <paramref name="previousReferenceHash"/>
    /// (unchanged from v3, without a previous event, or without a hash).</summary>
    public static MatrixEvent WithPreviousReferenceHash(this MatrixEvent ev, string? previousReferenceHash, RoomVersion version) =>
        version.EventIdsHaveDomain && previousReferenceHash is not null
        && ev.PrevEvents is { Count: 1 } prev && prev[0] is JsonArray { Count: > 0 } pair && pair[0] is JsonValue id
            ? ev with { PrevEvents = new JsonArray(new JsonArray(id.GetValue<string>(), HashesOf(previousReferenceHash))) }
            : ev;

    private static JsonObject HashesOf(string? referenceHash) =>
        referenceHash is null ? new JsonObject() : new JsonObject { ["sha256"] = referenceHash };
}
