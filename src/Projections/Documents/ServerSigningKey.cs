using System.Security.Cryptography;
using Marten;
using JasperFx;
using Matrix.Rooms.Domain.Crypto;
using NodaTime;

namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// The server's ed25519 signing key (spec server-server "Publishing Keys"): the 32-byte seed in unpadded Base64 and the
/// key name after <c>ed25519:</c>. One document per server name, in the store every Host node shares — so the nodes of
/// one deployment sign with one key however many of them start at once (<see cref="ServerSigningKeys"/>), and the
/// tooling (import's verification) reads the same key. The seed is a secret: the table is readable only to those who
/// may read the store.
/// </summary>
public sealed record ServerSigningKey
{
    /// <summary>The server name the key signs for.</summary>
    public required string Id { get; init; }
    public required string KeyName { get; init; }
    public required string Seed { get; init; }
    public Instant CreatedAt { get; init; }

    public string KeyId => $"{Ed25519SigningKey.Algorithm}:{KeyName}";

    public Ed25519SigningKey ToSigningKey() => Ed25519SigningKey.FromSeed(UnpaddedBase64.Decode(Seed), KeyName);
}

/// <summary>Generates the server's signing key once and reads it after.</summary>
public static class ServerSigningKeys
{
    /// <summary>
    /// The key of <paramref name="serverName"/>: the stored one, or a new one inserted if none is — an insert, not an
    /// upsert, so when several nodes start together one insert wins, the others fail on the primary key and read the
    /// winner's. The key name is random (<c>a_</c> + 6 hex digits: the spec allows only <c>[a-zA-Z0-9_]</c> after
    /// <c>ed25519:</c>, so not Base64) so a key generated again after the store
    /// was lost has another ID than the one remote servers cached.
    /// </summary>
    public static async Task<ServerSigningKey> LoadOrCreateAsync(IDocumentStore store, string serverName, Instant now, CancellationToken ct = default)
    {
        await using (var query = store.QuerySession())
            if (await query.LoadAsync<ServerSigningKey>(serverName, ct) is { } existing) return existing;
        var generated = new ServerSigningKey
        {
            Id = serverName,
            KeyName = "a_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)),
            Seed = UnpaddedBase64.Encode(RandomNumberGenerator.GetBytes(32)),
            CreatedAt = now,
        };
        try
        {
            await using var session = store.LightweightSession();
            session.Insert(generated);
            await session.SaveChangesAsync(ct);
            return generated;
        }
        catch (Exception e) when (e is DocumentAlreadyExistsException || e.InnerException is DocumentAlreadyExistsException)
        {
            await using var query = store.QuerySession();
            return await query.LoadAsync<ServerSigningKey>(serverName, ct)
                   ?? throw new InvalidOperationException($"The signing key of {serverName} was inserted by another node but cannot be read", e);
        }
    }

    /// <summary>The stored key of <paramref name="serverName"/>, if any (reads only: the tooling never creates one).</summary>
    public static async Task<ServerSigningKey?> LoadAsync(IQuerySession session, string serverName, CancellationToken ct = default) =>
        await session.LoadAsync<ServerSigningKey>(serverName, ct);
}
