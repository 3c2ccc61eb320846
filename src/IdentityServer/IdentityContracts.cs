using Matrix.Rooms.Domain.ThirdPartyInvites;

namespace Matrix.Rooms.IdentityServer;

// The shapes of the identity service API v2 calls a homeserver makes, shared by this server and the homeserver's
// clients of identity servers (embedded or over HTTP).

/// <summary><c>GET /hash_details</c>'s answer.</summary>
public sealed record HashDetails(string LookupPepper, IReadOnlyList<string> Algorithms);

/// <summary><c>POST /store-invite</c>'s request (required fields first, then the optional ones for the e-mail).</summary>
public sealed record StoreInviteRequest(ThirdPartyId Invitee, string RoomId, string Sender)
{
    public string? RoomAlias { get; init; }
    public string? RoomAvatarUrl { get; init; }
    public string? RoomJoinRules { get; init; }
    public string? RoomName { get; init; }
    public string? RoomType { get; init; }
    public string? SenderDisplayName { get; init; }
    public string? SenderAvatarUrl { get; init; }
}

/// <summary><c>POST /store-invite</c>'s answer: the token, the keys (long-term first, then ephemeral) and the redacted display name.</summary>
public sealed record StoredInvite(string Token, IReadOnlyList<InvitePublicKey> PublicKeys, string DisplayName);
