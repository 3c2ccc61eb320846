namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// One change of a room's <c>m.room.history_visibility</c>, at the stream position (version) of the event that made
/// it. The rows of a room are its visibility timeline: append-only, so projecting never reads before writing.
/// </summary>
public sealed record VisibilityTimelineEntry
{
    public required string Id { get; init; }
    public required string RoomId { get; init; }
    public long Position { get; init; }

    /// <summary>The value as sent (null when absent or not a string; the filter reads that as <c>shared</c>).</summary>
    public string? Value { get; init; }

    public static string IdFor(string roomId, long position) => $"{roomId}|{position}";
}

/// <summary>One change of one user's membership in one room, at its stream position. A (room, user)'s rows are their membership timeline.</summary>
public sealed record MembershipTimelineEntry
{
    public required string Id { get; init; }
    public required string RoomId { get; init; }
    public required string UserId { get; init; }
    public long Position { get; init; }
    public string? Membership { get; init; }

    public static string IdFor(string roomId, string userId, long position) => $"{roomId}|{userId}|{position}";
}

/// <summary>Where an event lives: its room and stream position (for <c>/event/{eventId}</c> and <c>/context</c>).</summary>
public sealed record RoomEventLocation
{
    /// <summary>The event ID.</summary>
    public required string Id { get; init; }
    public required string RoomId { get; init; }
    public long Position { get; init; }
}
