using System.Security.Cryptography;
using Matrix.Rooms.Domain.Crypto;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The identity server's long-term ed25519 signing key (key ID <c>ed25519:0</c>) and its lookup pepper,
/// generated on first use and persisted under the data directory (<c>identity/ed25519_0.key</c>, the 32-byte seed in
/// unpadded Base64; <c>identity/lookup_pepper</c>), owner-readable only. Several processes sharing the data directory
/// agree on one key: the first to write wins and the others read it.
/// </summary>
public sealed class IdentityKeyStore(IOptions<IdentityServerOptions> options, ILogger<IdentityKeyStore> logger) : IDisposable
{
    public const string KeyName = "0";

    private readonly Lazy<Ed25519SigningKey> _key = new(() => LoadKey(Folder(options.Value), logger));
    private readonly Lazy<string> _pepper = new(() => LoadSecret(Path.Combine(Folder(options.Value), "lookup_pepper"),
        () => UnpaddedBase64.EncodeUrlSafe(RandomNumberGenerator.GetBytes(24)), logger, "lookup pepper"));

    public Ed25519SigningKey SigningKey => _key.Value;

    /// <summary>The pepper <c>/hash_details</c> publishes and <c>/lookup</c> requires.</summary>
    public string LookupPepper => _pepper.Value;

    public string KeyFile => Path.Combine(Folder(options.Value), $"ed25519_{KeyName}.key");

    private static string Folder(IdentityServerOptions options) => Path.Combine(options.ResolveDataDirectory(), "identity");

    private static Ed25519SigningKey LoadKey(string folder, ILogger logger)
    {
        var seed = LoadSecret(Path.Combine(folder, $"ed25519_{KeyName}.key"),
            () => UnpaddedBase64.Encode(RandomNumberGenerator.GetBytes(32)), logger, "ed25519 signing key");
        return Ed25519SigningKey.FromSeed(UnpaddedBase64.Decode(seed), KeyName);
    }

    private static string LoadSecret(string path, Func<string> generate, ILogger logger, string what)
    {
        if (File.Exists(path)) return File.ReadAllText(path).Trim();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temp, generate());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            File.Move(temp, path, overwrite: false);
            logger.LogInformation("Generated the identity server's {What} in {Path}", what, path);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temp); // another process wrote it first: use theirs
        }
        return File.ReadAllText(path).Trim();
    }

    public void Dispose()
    {
        if (_key.IsValueCreated) _key.Value.Dispose();
    }
}
