using NodaTime;

namespace Matrix.Rooms.Host.Features.Accounts;

/// <summary>A local account (full or guest). Accounts are documents, not event streams: they are not room history.</summary>
public sealed record Account
{
    /// <summary>The full user ID.</summary>
    public required string Id { get; init; }
    public required string Localpart { get; init; }

    /// <summary>PBKDF2 hash (see <see cref="PasswordHasher"/>); null for guests.</summary>
    public string? PasswordHash { get; init; }
    public bool IsGuest { get; init; }
    public Instant CreatedAt { get; init; }
}

/// <summary>An access token, stored by its SHA-256 so a database leak does not leak usable tokens.</summary>
public sealed record AccessTokenRecord
{
    /// <summary>Lower-case hex SHA-256 of the token.</summary>
    public required string Id { get; init; }
    public required string UserId { get; init; }
    public required string DeviceId { get; init; }
    public bool IsGuest { get; init; }
    public Instant CreatedAt { get; init; }
}
