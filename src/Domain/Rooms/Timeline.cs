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
    public static MatrixEvent After(this MatrixEvent ev, string? previousEventId, RoomVersion version)
    {
        if (version.EventIdsHaveDomain && !ev.EventId.Contains(':') && UserId.ServerOf(ev.Sender) is { } server)
            ev = ev with { EventId = $"{ev.EventId}:{server}" };
        return previousEventId is null
            ? ev with { PrevEvents = null }
            : ev with
            {
                PrevEvents = version.EventIdsHaveDomain
                    ? new JsonArray(new JsonArray(previousEventId, new JsonObject()))
                    : new JsonArray(previousEventId),
            };
    }
}
