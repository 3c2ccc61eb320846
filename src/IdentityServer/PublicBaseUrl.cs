using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The identity server's public base URL (<see cref="IdentityServerOptions.PublicBaseUrl"/>, else the first address the
/// server serves on, a wildcard one as <c>localhost</c>, else <c>http://localhost:8008</c>): the start of validation
/// links and of <c>key_validity_url</c>. Never a request's <c>Host</c> header, which the client chooses.
/// </summary>
public sealed class PublicBaseUrl(IOptions<IdentityServerOptions> options, IServiceProvider services)
{
    public string Value
    {
        get
        {
            if (options.Value.PublicBaseUrl is { Length: > 0 } configured) return configured.TrimEnd('/');
            foreach (var address in ServedAddresses())
                if (TrySplit(address, out var scheme, out var host, out var port))
                    return host is "0.0.0.0" or "[::]" or "+" or "*"
                        ? $"{scheme}://localhost{(port is null ? "" : ":" + port)}"
                        : $"{scheme}://{host}{(port is null ? "" : ":" + port)}";
            return "http://localhost:8008";
        }
    }

    public override string ToString() => Value;

    /// <summary>The addresses the server serves on (none when it is not serving, e.g. a command-line run).</summary>
    public IEnumerable<string> ServedAddresses() =>
        services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];

    /// <summary>Splits <c>scheme://host[:port][/…]</c>, also for the wildcard hosts Kestrel accepts (<c>+</c>, <c>*</c>).</summary>
    public static bool TrySplit(string url, out string scheme, out string host, out string? port)
    {
        scheme = host = "";
        port = null;
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0) return false;
        scheme = url[..schemeEnd];
        var rest = url[(schemeEnd + 3)..];
        var slash = rest.IndexOf('/');
        if (slash >= 0) rest = rest[..slash];
        var colon = rest.LastIndexOf(':');
        if (colon > 0 && colon > rest.LastIndexOf(']'))
        {
            host = rest[..colon].ToLowerInvariant();
            port = rest[(colon + 1)..];
        }
        else host = rest.ToLowerInvariant();
        return host.Length > 0;
    }
}
