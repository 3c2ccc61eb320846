using Matrix.Rooms.Host.Infrastructure;

namespace Matrix.Rooms.Host.IdentityServer;

/// <summary>
/// Settings for identity servers (section <c>MatrixRooms:IdentityServer</c>), all with safe defaults: the embedded
/// identity server is on and is the only trusted one; nothing outside the Host is ever called unless it is listed here.
/// </summary>
public sealed class IdentityServerOptions
{
    /// <summary>Serve the embedded identity server under <c>/_matrix/identity/v2</c> and trust it by its names.</summary>
    public bool Embedded { get; set; } = true;

    /// <summary>
    /// Extra names (<c>hostname[:port]</c>) the embedded identity server answers to. It always answers to the Host's
    /// server name, <c>localhost</c>, and each address the Host serves on (<c>127.0.0.1:8008</c> and
    /// <c>localhost:8008</c> with the defaults).
    /// </summary>
    public List<string> EmbeddedNames { get; set; } = [];

    /// <summary>
    /// The embedded identity server's public base URL: the start of the links in validation e-mails and of
    /// <c>key_validity_url</c>. Never taken from a request's <c>Host</c> header, which the client chooses. Default: the
    /// first address the Host serves on (a wildcard one as <c>localhost</c>), else <c>http://localhost:8008</c>; behind
    /// a reverse proxy, set it to the URL clients use.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Hosts a validation session's <c>next_link</c> may point at, besides <see cref="PublicBaseUrl"/>'s own host.</summary>
    public List<string> NextLinkHosts { get; set; } = [];

    /// <summary>Where validation and invitation e-mails are written, one <c>.eml</c> file each (relative to the data directory).</summary>
    public string MailDrop { get; set; } = "maildrop";

    /// <summary>External identity servers clients may name as <c>id_server</c>. Anything not listed is <c>403 M_SERVER_NOT_TRUSTED</c>.</summary>
    public List<TrustedIdentityServer> Trusted { get; set; } = [];

    /// <summary>
    /// Homeservers the embedded identity server talks to (for <c>/3pid/onbind</c> and OpenID <c>userinfo</c>), by
    /// server name. The Host's own server name is always handled in process; no other homeserver is ever called.
    /// </summary>
    public List<KnownHomeserver> Homeservers { get; set; } = [];

    /// <summary>How long one request to another server may take before it counts as unreachable (<c>504</c>).</summary>
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>Invites by third-party identifier, per inviter: a token bucket (Synapse's <c>rc_third_party_invite</c> defaults).</summary>
    public RateLimitOptions InviteRateLimit { get; set; } = new();
}

/// <summary>An external identity server: the name clients give as <c>id_server</c> and where it is.</summary>
public sealed class TrustedIdentityServer
{
    /// <summary><c>hostname[:port]</c> as clients send it in <c>id_server</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>Its base URL; default <c>https://{Name}</c>.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Overrides <see cref="IdentityServerOptions.TimeoutSeconds"/> for this server.</summary>
    public double? TimeoutSeconds { get; set; }
}

/// <summary>A homeserver the embedded identity server may call back.</summary>
public sealed class KnownHomeserver
{
    public string ServerName { get; set; } = "";

    /// <summary>Its base URL; default <c>https://{ServerName}</c>.</summary>
    public string? BaseUrl { get; set; }
}
