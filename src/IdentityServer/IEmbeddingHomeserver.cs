using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The homeserver this identity server is embedded in, called in process. Each member means exactly what the spec
/// endpoint named beside it means, so the embedded server needs nothing the homeserver would not answer over HTTP, and
/// reads none of its data. Registered by the Host only; a standalone identity server has none and reaches every
/// homeserver over HTTP (<see cref="HomeserverClient"/>).
/// </summary>
public interface IEmbeddingHomeserver
{
    /// <summary>The homeserver's server name: users <c>@…:{ServerName}</c> are its.</summary>
    string ServerName { get; }

    /// <summary>
    /// <c>GET /_matrix/federation/v1/openid/userinfo?access_token=…</c>: the user an OpenID token the homeserver issued
    /// belongs to, or null when it is unknown or expired.
    /// </summary>
    Task<string?> UserOfOpenIdTokenAsync(string openIdToken, CancellationToken ct);

    /// <summary>
    /// <c>PUT /_matrix/federation/v1/3pid/onbind</c>: null when every invite went through, else the homeserver's last
    /// refusal (what it would have answered).
    /// </summary>
    Task<MatrixError?> OnBindAsync(JsonObject notification, CancellationToken ct);

    /// <summary>
    /// <c>GET /_matrix/client/v3/account/whoami</c> for a full (non-guest) account: the user an access token of this
    /// homeserver belongs to, or null. It lets the homeserver's own clients use their access token as the
    /// identity-server token, which only the embedded server accepts (a standalone one needs the OpenID flow).
    /// </summary>
    Task<string?> UserOfAccessTokenAsync(string accessToken, CancellationToken ct);
}
