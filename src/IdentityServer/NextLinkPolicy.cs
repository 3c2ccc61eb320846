using Matrix.Rooms.Domain.Errors;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// Where <c>next_link</c> may send a browser. Spec (identity service, <c>requestToken</c>): "When the validation is
/// completed, the identity server will redirect the user to this URL." Any URL would make the validation link an open
/// redirect on this server's name, so only an absolute <c>http</c>/<c>https</c> URL on an allowed host is taken: the
/// host of <see cref="PublicBaseUrl"/> and each of <see cref="IdentityServerOptions.NextLinkHosts"/>. Anything else is
/// refused at <c>requestToken</c> with <c>400 M_INVALID_PARAM</c> (as Synapse's <c>next_link_domain_whitelist</c>), and
/// never followed at <c>submitToken</c>.
/// </summary>
public sealed class NextLinkPolicy(IOptions<IdentityServerOptions> options, PublicBaseUrl publicBaseUrl)
{
    /// <summary>The refusal for a <c>next_link</c> that may not be used, else null (also when there is none).</summary>
    public MatrixError? Check(string? nextLink)
    {
        if (nextLink is null || Allows(nextLink, out _)) return null;
        return MatrixError.InvalidParam(
            $"next_link must be an http(s) URL on this identity server's host or on one configured in {options.Value.ConfigurationPath}:NextLinkHosts");
    }

    public bool Allows(string? nextLink, out Uri url)
    {
        url = null!;
        if (string.IsNullOrEmpty(nextLink) || !Uri.TryCreate(nextLink, UriKind.Absolute, out var parsed)) return false;
        if (parsed.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(parsed.UserInfo)) return false;
        if (!AllowedHosts().Contains(parsed.IdnHost)) return false;
        url = parsed;
        return true;
    }

    private HashSet<string> AllowedHosts()
    {
        var hosts = new HashSet<string>(options.Value.NextLinkHosts, StringComparer.OrdinalIgnoreCase);
        if (Uri.TryCreate(publicBaseUrl.Value, UriKind.Absolute, out var own)) hosts.Add(own.IdnHost);
        return hosts;
    }
}
