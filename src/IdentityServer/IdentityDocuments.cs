using NodaTime;

namespace Matrix.Rooms.IdentityServer;

// The embedded identity server's own records. They live in the Host's database beside the homeserver's, but nothing
// on the client-server side reads them: an address appears here and nowhere a room member can see.

/// <summary>A validation session (identity service API → "Establishing associations"): <c>requestToken</c> … <c>submitToken</c>.</summary>
public sealed record IdentityValidationSession
{
    /// <summary>The session ID (<c>sid</c>).</summary>
    public required string Id { get; init; }
    public required string Medium { get; init; }
    public required string Address { get; init; }
    public required string ClientSecret { get; init; }
    public required string Token { get; init; }
    public int SendAttempt { get; init; }
    public string? NextLink { get; init; }
    public Instant CreatedAt { get; init; }

    /// <summary>"A session is considered to have been modified when it was created, and then when a validation is performed within it."</summary>
    public Instant ModifiedAt { get; init; }
    public Instant? ValidatedAt { get; init; }
}

/// <summary>A published binding (medium, address) → Matrix user ID, with its lookup hash under the current pepper.</summary>
public sealed record IdentityAssociation
{
    public required string Id { get; init; }
    public required string Medium { get; init; }
    public required string Address { get; init; }
    public required string Mxid { get; init; }
    public required string LookupHash { get; init; }
    public Instant BoundAt { get; init; }

    public static string IdFor(string medium, string address) => $"{medium} {address}";
}

/// <summary>A pending invitation stored by <c>store-invite</c>, delivered to the invitee's homeserver on bind.</summary>
public sealed record IdentityStoredInvite
{
    /// <summary>The token (also the <c>m.room.third_party_invite</c>'s state key).</summary>
    public required string Id { get; init; }
    public required string Medium { get; init; }
    public required string Address { get; init; }
    public required string RoomId { get; init; }
    public required string Sender { get; init; }
    public required string DisplayName { get; init; }

    /// <summary>The invite's ephemeral public key, exactly as published (for <c>/pubkey/ephemeral/isvalid</c>).</summary>
    public required string EphemeralPublicKey { get; init; }
    public Instant CreatedAt { get; init; }

    /// <summary>When the signed invite was handed to the invitee's homeserver; it is handed over once.</summary>
    public Instant? DeliveredAt { get; init; }
    public string? DeliveredTo { get; init; }
}

/// <summary>An access token the identity server issued through OpenID <c>/account/register</c>, stored by its SHA-256.</summary>
public sealed record IdentityAccessToken
{
    public required string Id { get; init; }
    public required string UserId { get; init; }
    public Instant CreatedAt { get; init; }
}
