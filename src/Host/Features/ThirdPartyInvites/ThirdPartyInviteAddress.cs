using NodaTime;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites;

/// <summary>
/// The homeserver's private record of whom a third-party invite was for: (medium, address), the identity server and
/// the room and token. Written with the <c>m.room.third_party_invite</c> it belongs to; read by no endpoint a room
/// member can call (the address must stay out of everything the room can see). It answers the operator's question
/// "which invites are pending for this address" (indexed by medium and address).
/// </summary>
public sealed record ThirdPartyInviteAddress
{
    /// <summary><c>{roomId}|{token}</c>.</summary>
    public required string Id { get; init; }
    public required string RoomId { get; init; }
    public required string Token { get; init; }
    public required string Medium { get; init; }
    public required string Address { get; init; }
    public required string IdServer { get; init; }
    public required string Inviter { get; init; }
    public Instant InvitedAt { get; init; }
}
