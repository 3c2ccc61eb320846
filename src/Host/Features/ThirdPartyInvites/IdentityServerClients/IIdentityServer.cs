using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.IdentityServer;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;

/// <summary>
/// The port through which the homeserver uses an identity server (identity service API v2, the calls the
/// third-party-invite flow needs). Two adapters: <see cref="EmbeddedIdentityServer"/> (in process, the default) and
/// <see cref="HttpIdentityServer"/> (an external server over HTTP). Get one from <see cref="IdentityServers.Resolve"/>,
/// which refuses any <c>id_server</c> that is not trusted. Failures are <see cref="IdentityServerException"/>.
/// </summary>
public interface IIdentityServer
{
    /// <summary>The name the client gave as <c>id_server</c>.</summary>
    string Name { get; }

    /// <param name="accessToken">The caller's identity-server token; null when the homeserver itself asks (embedded only).</param>
    Task<HashDetails> HashDetailsAsync(string? accessToken, CancellationToken ct);

    /// <summary><c>POST /lookup</c>: hashed (or clear, for <c>none</c>) addresses → user IDs, for those that are bound.</summary>
    Task<IReadOnlyDictionary<string, string>> LookupAsync(string? accessToken, string algorithm, string pepper,
        IReadOnlyList<string> addresses, CancellationToken ct);

    Task<StoredInvite> StoreInviteAsync(string? accessToken, StoreInviteRequest request, CancellationToken ct);

    /// <summary><c>POST /3pid/bind</c>: the signed association.</summary>
    Task<JsonObject> BindAsync(string? accessToken, string sid, string clientSecret, string mxid, CancellationToken ct);
}

public enum IdentityServerFailure
{
    /// <summary>No connection could be made (refused, no route, DNS).</summary>
    Unreachable,
    /// <summary>No answer within the timeout.</summary>
    Timeout,
    /// <summary>An answer that is not what the API specifies (5xx, not JSON, wrong shape).</summary>
    BadResponse,
    /// <summary>A Matrix error the identity server answered with (<see cref="IdentityServerException.Remote"/>).</summary>
    Refused,
}

/// <summary>
/// An identity server call that failed. <see cref="ToClientError"/> is what the homeserver answers its own client:
/// nothing has been appended when one of these is thrown.
/// </summary>
public sealed class IdentityServerException(string server, IdentityServerFailure failure, string message, MatrixError? remote = null)
    : Exception($"Identity server {server}: {message}")
{
    public string Server { get; } = server;
    public IdentityServerFailure Failure { get; } = failure;

    /// <summary>For <see cref="IdentityServerFailure.Refused"/>: the identity server's own error.</summary>
    public MatrixError? Remote { get; } = remote;

    /// <summary>
    /// Unreachable → <c>502 M_UNKNOWN</c>; timeout → <c>504 M_UNKNOWN</c>; a bad answer → <c>502 M_UNKNOWN</c>. A Matrix
    /// error is passed on ("Homeservers should simply proxy any errors received by the identity server"), except that
    /// a refused token (401) becomes <c>403 M_FORBIDDEN</c> — a 401 would tell the client its homeserver token is bad —
    /// and anything that is not a 400/403/404 client error becomes <c>502 M_UNKNOWN</c>.
    /// </summary>
    public MatrixError ToClientError() => Failure switch
    {
        IdentityServerFailure.Timeout => MatrixError.Unknown(504, $"The identity server {Server} did not answer in time"),
        IdentityServerFailure.Unreachable => MatrixError.Unknown(502, $"The identity server {Server} could not be reached"),
        IdentityServerFailure.Refused when Remote is { Status: 401 } r =>
            MatrixError.Forbidden($"The identity server {Server} did not accept id_access_token: {r.Error}"),
        IdentityServerFailure.Refused when Remote is { Status: 400 or 403 or 404, ErrCode: not "M_UNRECOGNIZED" } r =>
            r with { Error = $"Identity server {Server}: {r.Error}" },
        IdentityServerFailure.Refused when Remote is { } r =>
            MatrixError.Unknown(502, $"The identity server {Server} failed: {r.ErrCode} {r.Error}"),
        _ => MatrixError.Unknown(502, $"The identity server {Server} gave an unusable answer: {Message}"),
    };
}
