using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.IdentityServer;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;

/// <summary>
/// The names the embedded identity server answers to: the Host's server name, <c>localhost</c>, each address the Host
/// serves on (for a loopback or wildcard address also as <c>localhost:port</c> and <c>127.0.0.1:port</c>), and
/// <see cref="IdentityServerClientOptions.EmbeddedNames"/>. With the defaults: <c>localhost</c>, <c>localhost:8008</c>,
/// <c>127.0.0.1:8008</c>.
/// </summary>
public sealed class EmbeddedIdentityServerNames(IOptions<MatrixRoomsOptions> options, PublicBaseUrl publicBaseUrl)
{
    public bool Enabled => options.Value.IdentityServer.Embedded;

    public IReadOnlySet<string> Names
    {
        get
        {
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { options.Value.ServerName, "localhost" };
            foreach (var name in options.Value.IdentityServer.EmbeddedNames) names.Add(name);
            foreach (var address in publicBaseUrl.ServedAddresses())
            {
                if (!global::Matrix.Rooms.IdentityServer.PublicBaseUrl.TrySplit(address, out _, out var host, out var port)) continue;
                names.Add(port is null ? host : $"{host}:{port}");
                if (port is not null && host is "127.0.0.1" or "[::1]" or "localhost" or "0.0.0.0" or "[::]" or "+" or "*")
                {
                    names.Add($"localhost:{port}");
                    names.Add($"127.0.0.1:{port}");
                }
            }
            return names;
        }
    }

    public bool IsEmbedded(string authority) => Enabled && Names.Contains(authority);

    /// <summary>The embedded server's public base URL, for <c>key_validity_url</c> when it is called in process.</summary>
    public string PublicBaseUrl => publicBaseUrl.Value;
}

/// <summary>
/// The trusted list: which <c>id_server</c> names the homeserver will talk to, and how. The embedded server (by any of
/// its names) is called in process; each <see cref="IdentityServerClientOptions.Trusted"/> server over HTTP; anything else is
/// refused with <c>403 M_SERVER_NOT_TRUSTED</c> before any request is made, because the homeserver must never call an
/// arbitrary host a client names. The same list decides which <c>key_validity_url</c>s may be fetched.
/// </summary>
public sealed class IdentityServers(
    IOptions<MatrixRoomsOptions> options,
    EmbeddedIdentityServerNames embeddedNames,
    IdentityService embedded,
    IHttpClientFactory httpClients,
    ILogger<IdentityServers> logger)
{
    public const string HttpClientName = "matrix-rooms-outbound";

    /// <summary>The identity server named <paramref name="idServer"/>, or <c>403 M_SERVER_NOT_TRUSTED</c>.</summary>
    public Result<IIdentityServer> Resolve(string idServer)
    {
        if (embeddedNames.IsEmbedded(idServer)) return new EmbeddedIdentityServer(idServer, embedded, embeddedNames);
        if (FindTrusted(idServer) is { } trusted)
            return new HttpIdentityServer(idServer, BaseUri(trusted), Timeout(trusted), httpClients.CreateClient(HttpClientName));
        logger.LogInformation("Refused untrusted identity server {IdServer}", idServer);
        return MatrixError.ServerNotTrusted($"The identity server '{idServer}' is not trusted by this homeserver");
    }

    /// <summary>
    /// Checks a third-party invite's public key with its <c>key_validity_url</c> "using the provided URL rather than
    /// constructing a new one" (<c>?public_key=…</c> added). A URL on no trusted identity server is not fetched:
    /// <c>403 M_SERVER_NOT_TRUSTED</c>. A key the server calls invalid is <c>403 M_FORBIDDEN</c>; an unreachable or
    /// failing server throws <see cref="IdentityServerException"/>. A key without a URL is valid indefinitely (spec).
    /// </summary>
    public async Task<MatrixError?> CheckKeyValidityAsync(InvitePublicKey key, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(key.KeyValidityUrl)) return null;
        if (!Uri.TryCreate(key.KeyValidityUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            return MatrixError.Forbidden($"The third-party invite's key_validity_url '{key.KeyValidityUrl}' is not an http(s) URL");

        bool valid;
        if (embeddedNames.IsEmbedded(url.Authority))
        {
            var path = url.AbsolutePath.TrimEnd('/');
            if (path.EndsWith("/pubkey/ephemeral/isvalid", StringComparison.Ordinal))
                valid = await embedded.IsEphemeralKeyValidAsync(key.PublicKey, ct);
            else if (path.EndsWith("/pubkey/isvalid", StringComparison.Ordinal))
                valid = embedded.IsLongTermKeyValid(key.PublicKey);
            else
                return MatrixError.Forbidden($"The key_validity_url '{url}' is not a key validity endpoint of this identity server");
        }
        else if ((FindTrusted(url.Authority) ?? FindTrustedByBaseUrl(url)) is { } trusted)
        {
            var server = new HttpIdentityServer(trusted.Name, BaseUri(trusted), Timeout(trusted), httpClients.CreateClient(HttpClientName));
            valid = await server.IsKeyValidAsync(url, key.PublicKey, ct);
        }
        else
        {
            logger.LogInformation("Not fetching key_validity_url on untrusted host {Host}", url.Authority);
            return MatrixError.ServerNotTrusted(
                $"The third-party invite's key_validity_url is on '{url.Authority}', which is not a trusted identity server, " +
                "so the key cannot be checked");
        }
        return valid
            ? null
            : MatrixError.Forbidden("The identity server says the key that signed this third-party invite is no longer valid");
    }

    private TrustedIdentityServer? FindTrusted(string name) =>
        options.Value.IdentityServer.Trusted.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

    private TrustedIdentityServer? FindTrustedByBaseUrl(Uri url) =>
        options.Value.IdentityServer.Trusted.FirstOrDefault(t =>
            string.Equals(BaseUri(t).Authority, url.Authority, StringComparison.OrdinalIgnoreCase)
            && string.Equals(BaseUri(t).Scheme, url.Scheme, StringComparison.OrdinalIgnoreCase));

    private static Uri BaseUri(TrustedIdentityServer trusted) =>
        new((string.IsNullOrEmpty(trusted.BaseUrl) ? $"https://{trusted.Name}" : trusted.BaseUrl).TrimEnd('/') + "/");

    private TimeSpan Timeout(TrustedIdentityServer trusted) =>
        TimeSpan.FromSeconds(trusted.TimeoutSeconds ?? options.Value.IdentityServer.TimeoutSeconds);
}
