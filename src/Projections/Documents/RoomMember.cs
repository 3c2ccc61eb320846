using NodaTime;

namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// The current membership of one user in one room (one row per pair, indexed by room and by user), so
/// "who is joined here" and "which rooms is this user in" are index lookups, never a replay.
/// </summary>
public sealed record RoomMember
{
    public required string Id { get; init; }
    public required string RoomId { get; init; }
    public required string UserId { get; init; }
    public required string Membership { get; init; }
    public string? DisplayName { get; init; }
    public string? AvatarUrl { get; init; }

    /// <summary>True when the member is a local guest account (recorded in the member event's unsigned data).</summary>
    public bool IsGuest { get; init; }

    public required string EventId { get; init; }
    public required string Sender { get; init; }
    public long StreamVersion { get; init; }
    public Instant ChangedAt { get; init; }

    public static string IdFor(string roomId, string userId) => $"{roomId}|{userId}";
}
