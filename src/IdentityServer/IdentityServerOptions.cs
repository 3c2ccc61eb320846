namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The identity server's settings. Embedded in the Host they are read from <c>MatrixRooms:IdentityServer</c> (the
/// server name and data directory default to the Host's); as its own process from <c>IdentityServer</c>. Every value
/// has a safe default: the server calls no homeserver that is not listed in <see cref="Homeservers"/> (or, embedded,
/// the one it is embedded in).
/// </summary>
public sealed class IdentityServerOptions
{
    /// <summary>The entity name in this server's signatures (<c>signatures.{ServerName}.ed25519:0</c>) and its mail's sender domain.</summary>
    public string? ServerName { get; set; }

    /// <summary>
    /// Where the signing key (<c>identity/ed25519_0.key</c>), the lookup pepper and the mail drop live. Relative paths
    /// are under the repository root (the folder holding Matrix.Rooms.sln), else under the working directory.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>The PostgreSQL schema of the identity server's own documents (its Marten store).</summary>
    public string Schema { get; set; } = "identity";

    /// <summary>
    /// The public base URL: the start of the links in validation e-mails and of <c>key_validity_url</c>. Never taken
    /// from a request's <c>Host</c> header, which the client chooses. Default: the first address the server serves on
    /// (a wildcard one as <c>localhost</c>), else <c>http://localhost:8008</c>; behind a reverse proxy, set it to the
    /// URL clients use.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Hosts a validation session's <c>next_link</c> may point at, besides <see cref="PublicBaseUrl"/>'s own host.</summary>
    public List<string> NextLinkHosts { get; set; } = [];

    /// <summary>Where validation and invitation e-mails are written, one <c>.eml</c> file each (relative to the data directory).</summary>
    public string MailDrop { get; set; } = "maildrop";

    /// <summary>
    /// Homeservers this identity server talks to (for <c>/3pid/onbind</c> and OpenID <c>userinfo</c>), by server name.
    /// Embedded, the Host's own server name is always handled in process; no other homeserver is ever called.
    /// </summary>
    public List<KnownHomeserver> Homeservers { get; set; } = [];

    /// <summary>How long one request to a homeserver may take (a <c>/3pid/onbind</c> gets three times as long).</summary>
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>The configuration path the options came from, for error messages that name a setting.</summary>
    internal string ConfigurationPath { get; set; } = "IdentityServer";

    public string EffectiveServerName => string.IsNullOrEmpty(ServerName) ? "localhost" : ServerName;

    /// <summary>
    /// <see cref="DataDirectory"/> resolved: absolute as given, else under the repository root (found from the working
    /// directory upwards), else under the working directory.
    /// </summary>
    public string ResolveDataDirectory()
    {
        var directory = string.IsNullOrEmpty(DataDirectory) ? Path.Combine(".data", "identity-server") : DataDirectory;
        if (Path.IsPathRooted(directory)) return directory;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Matrix.Rooms.sln")))
                return Path.Combine(dir.FullName, directory);
        return Path.GetFullPath(directory);
    }
}

/// <summary>A homeserver the identity server may call back.</summary>
public sealed class KnownHomeserver
{
    public string ServerName { get; set; } = "";

    /// <summary>Its base URL; default <c>https://{ServerName}</c>.</summary>
    public string? BaseUrl { get; set; }
}
