using Matrix.Rooms.Domain.ThirdPartyInvites;
using NodaTime;

namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// A third-party invite of a room as readers see it, one document per (room, token) kept by
/// <see cref="Projections.ThirdPartyInviteProjection"/>: token, inviter, the identity server's redacted display name,
/// where it stands (<see cref="ThirdPartyInviteStatus"/>: pending / exchanged / revoked) and, once exchanged, the user
/// and the <c>m.room.member</c> event it became. Keyed by room and token, the key every reader has (the room events
/// never hold the invitee's medium and address, so neither does this document).
/// </summary>
public sealed record ThirdPartyInvite
{
    public required string Id { get; init; }
    public required string RoomId { get; init; }
    public required string Token { get; init; }
    public required string Inviter { get; init; }
    public string? DisplayName { get; init; }
    public required string Status { get; init; }
    public string? InviteEventId { get; init; }
    public Instant? InvitedAt { get; init; }
    public string? InviteeUserId { get; init; }
    public string? MemberEventId { get; init; }

    /// <summary>The event that last changed the invite, and its stream version.</summary>
    public required string LastEventId { get; init; }
    public long StreamVersion { get; init; }

    public static string IdFor(string roomId, string token) => $"{roomId}|{token}";

    /// <summary>A room's invites in the order they were sent (an exchange or revocation with no invite seen last), then by token.</summary>
    public static IReadOnlyList<ThirdPartyInvite> Ordered(IEnumerable<ThirdPartyInvite> invites) =>
        invites.OrderBy(i => i.InvitedAt ?? Instant.MaxValue).ThenBy(i => i.Token, StringComparer.Ordinal).ToList();
}
