using NodaTime;

namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// One third-party invite of one room (row per (room, token)): who sent it, the identity server's obfuscated display
/// name, where it stands (<c>pending</c> / <c>exchanged</c> / <c>revoked</c>, see
/// <c>Domain.ThirdPartyInvites.ThirdPartyInviteStatus</c>) and, once exchanged, the user and the <c>m.room.member</c>
/// invite it became. Built from the room's events only, so it holds nothing a room member cannot already read: never
/// the invitee's address.
/// </summary>
public sealed record ThirdPartyInvite
{
    public required string Id { get; init; }
    public required string RoomId { get; init; }

    /// <summary>The <c>m.room.third_party_invite</c>'s state key.</summary>
    public required string Token { get; init; }

    /// <summary>The sender of the <c>m.room.third_party_invite</c>.</summary>
    public required string Inviter { get; init; }

    public string? DisplayName { get; init; }
    public required string Status { get; init; }

    public required string InviteEventId { get; init; }
    public Instant InvitedAt { get; init; }

    /// <summary>The user the invite was exchanged for, and the <c>m.room.member</c> invite that did it.</summary>
    public string? InviteeUserId { get; init; }
    public string? MemberEventId { get; init; }

    /// <summary>The event that last changed the status (the invite, the exchange or the revocation).</summary>
    public required string LastEventId { get; init; }
    public Instant ChangedAt { get; init; }
    public long StreamVersion { get; init; }

    public static string IdFor(string roomId, string token) => $"{roomId}|{token}";
}
