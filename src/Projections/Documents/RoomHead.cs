namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// The tip of a room's timeline: its last event and the stream version after it. The write side reads it with the
/// state rows (one batched round trip) to set <c>prev_events</c> and the expected version of the next append.
/// </summary>
public sealed record RoomHead
{
    /// <summary>The room ID (= the stream key).</summary>
    public required string Id { get; init; }
    public required string LastEventId { get; init; }
    public long StreamVersion { get; init; }

    /// <summary>The last event's <c>depth</c>: the next event's is one more. Heads stored before events had a depth
    /// hold 0; their timeline is a line from depth 1, so the stream version stands in (<see cref="LastDepth"/>).</summary>
    public long Depth { get; init; }

    /// <summary>Rooms of v1–v2 (event IDs <c>$opaque:server</c>): the last event's reference hash, which the next event's
    /// <c>prev_events</c> pair carries (<c>[event_id, {"sha256": …}]</c>). Null from v3 (the event ID is the hash) and on
    /// heads stored before it was kept (a projection rebuild fills it).</summary>
    public string? LastReferenceHash { get; init; }

    [System.Text.Json.Serialization.JsonIgnore] public long LastDepth => Depth > 0 ? Depth : StreamVersion;
}
