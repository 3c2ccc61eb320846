using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Rooms;

/// <summary>
/// This engine is one homeserver, so a room's timeline is a line: each event's only <c>prev_events</c> entry is the event
/// before it, written in the room version's shape (pairs <c>[[id, hashes]]</c> in v1–v2, plain IDs from v3).
/// </summary>
public static class Timeline
{
    public static MatrixEvent After(this MatrixEvent ev, string? previousEventId, RoomVersion version) =>
        previousEventId is null
            ? ev with { PrevEvents = null }
            : ev with
            {
                PrevEvents = version.EventIdsHaveDomain
                    ? new JsonArray(new JsonArray(previousEventId, new JsonObject()))
                    : new JsonArray(previousEventId),
            };
}
