using Matrix.Rooms.Host.Infrastructure;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;

/// <summary>
/// The homeserver's side of identity servers (section <c>MatrixRooms:IdentityServer</c>), all with safe defaults: the
/// embedded identity server is on and is the only trusted one; nothing outside the Host is ever called unless it is
/// listed here. The embedded identity server's own settings (public URL, <c>next_link</c> hosts, mail drop, the
/// homeservers it calls back) are read from the same section by <c>Matrix.Rooms.IdentityServer.IdentityServerOptions</c>.
/// </summary>
public sealed class IdentityServerClientOptions
{
    /// <summary>Serve the embedded identity server under <c>/_matrix/identity/v2</c> and trust it by its names.</summary>
    public bool Embedded { get; set; } = true;

    /// <summary>
    /// Extra names (<c>hostname[:port]</c>) the embedded identity server answers to. It always answers to the Host's
    /// server name, <c>localhost</c>, and each address the Host serves on (<c>127.0.0.1:8008</c> and
    /// <c>localhost:8008</c> with the defaults).
    /// </summary>
    public List<string> EmbeddedNames { get; set; } = [];

    /// <summary>External identity servers clients may name as <c>id_server</c>. Anything not listed is <c>403 M_SERVER_NOT_TRUSTED</c>.</summary>
    public List<TrustedIdentityServer> Trusted { get; set; } = [];

    /// <summary>How long one request to an identity server may take before it counts as unreachable (<c>504</c>).</summary>
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

    /// <summary>Overrides <see cref="IdentityServerClientOptions.TimeoutSeconds"/> for this server.</summary>
    public double? TimeoutSeconds { get; set; }
}
