using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Identifiers;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The identity server's calls to homeservers: the <c>/3pid/onbind</c> notification and OpenID <c>userinfo</c>. The
/// homeserver it is embedded in (<see cref="IEmbeddingHomeserver"/>) is called in process; other homeservers only over
/// HTTP and only when listed in <see cref="IdentityServerOptions.Homeservers"/> — a user ID's server name alone never
/// makes the identity server contact a host.
/// </summary>
public sealed class HomeserverClient(
    IOptions<IdentityServerOptions> options,
    IHttpClientFactory httpClients,
    ILogger<HomeserverClient> logger,
    IEmbeddingHomeserver? embedding = null)
{
    /// <summary>Outbound calls never follow redirects: a homeserver must not be able to send this server to another host.</summary>
    public const string HttpClientName = "matrix-identity-server-outbound";

    /// <summary>
    /// Delivers the notification: <see cref="BindNotificationOutcome.Delivered"/> when the homeserver processed it (even if
    /// it refused some invites), <see cref="BindNotificationOutcome.Failed"/> when it could not (worth a retry).
    /// </summary>
    public async Task<BindNotificationOutcome> NotifyBindAsync(string mxid, JsonObject notification, CancellationToken ct)
    {
        var server = UserId.ServerOf(mxid) ?? "";
        if (IsEmbedding(server))
        {
            try
            {
                var refused = await embedding!.OnBindAsync(notification, ct);
                if (refused is not null) logger.LogWarning("The homeserver refused invites on bind of {Mxid}: {Error}", mxid, refused);
                return refused is null or { Status: < 500 } ? BindNotificationOutcome.Delivered : BindNotificationOutcome.Failed;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                logger.LogError(e, "The homeserver failed to process the bind of {Mxid}; the notification is tried again", mxid);
                return BindNotificationOutcome.Failed;
            }
        }
        if (BaseUri(server) is not { } baseUri)
        {
            logger.LogWarning("Not notifying {Server} of the bind of {Mxid}: it is not a configured homeserver", server, mxid);
            return BindNotificationOutcome.NotConfigured;
        }
        try
        {
            var url = new Uri(baseUri, "_matrix/federation/v1/3pid/onbind");
            // The spec says PUT; Synapse and Sydent use POST. Try the spec's first.
            var status = await SendAsync(HttpMethod.Put, url, notification, ct);
            if (status is HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotFound)
                status = await SendAsync(HttpMethod.Post, url, notification, ct);
            logger.LogInformation("Notified {Server} of the bind of {Mxid}: {Status}", server, mxid, (int)status);
            return (int)status < 500 ? BindNotificationOutcome.Delivered : BindNotificationOutcome.Failed;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Could not notify {Server} of the bind of {Mxid}", server, mxid);
            return BindNotificationOutcome.Failed;
        }
    }

    /// <summary>OpenID: asks <paramref name="serverName"/> whose token this is (<c>GET /_matrix/federation/v1/openid/userinfo</c>).</summary>
    public async Task<Result<string>> UserOfOpenIdTokenAsync(string serverName, string token, CancellationToken ct)
    {
        if (IsEmbedding(serverName))
        {
            var userId = await embedding!.UserOfOpenIdTokenAsync(token, ct);
            return userId is null ? Unauthorized() : userId;
        }
        if (BaseUri(serverName) is not { } baseUri)
            return MatrixError.Forbidden($"This identity server does not talk to the homeserver {serverName}");
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(TimeSpan.FromSeconds(options.Value.TimeoutSeconds));
            var http = httpClients.CreateClient(HttpClientName);
            using var response = await http.GetAsync(
                new Uri(baseUri, $"_matrix/federation/v1/openid/userinfo?access_token={Uri.EscapeDataString(token)}"), cts.Token);
            if (!response.IsSuccessStatusCode) return Unauthorized();
            var json = JsonNode.Parse(await response.Content.ReadAsStringAsync(cts.Token)) as JsonObject;
            return json?["sub"] is JsonValue v && v.TryGetValue<string>(out var sub) && UserId.IsValid(sub) ? sub : Unauthorized();
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Could not check an OpenID token with {Server}", serverName);
            return MatrixError.Unknown(502, $"The homeserver {serverName} could not be asked about the OpenID token");
        }
    }

    /// <summary>Embedded only: the user behind one of the embedding homeserver's own access tokens, else null.</summary>
    public Task<string?> UserOfHomeserverAccessTokenAsync(string token, CancellationToken ct) =>
        embedding is null ? Task.FromResult<string?>(null) : embedding.UserOfAccessTokenAsync(token, ct);

    private bool IsEmbedding(string serverName) =>
        embedding is not null && string.Equals(serverName, embedding.ServerName, StringComparison.OrdinalIgnoreCase);

    private static MatrixError Unauthorized() => new(401, "M_UNAUTHORIZED", "The OpenID token is not valid");

    private Uri? BaseUri(string serverName) =>
        options.Value.Homeservers
            .FirstOrDefault(h => string.Equals(h.ServerName, serverName, StringComparison.OrdinalIgnoreCase)) is { } known
            ? new Uri((string.IsNullOrEmpty(known.BaseUrl) ? $"https://{known.ServerName}" : known.BaseUrl).TrimEnd('/') + "/")
            : null;

    private async Task<HttpStatusCode> SendAsync(HttpMethod method, Uri url, JsonObject body, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(options.Value.TimeoutSeconds * 3));
        using var request = new HttpRequestMessage(method, url) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, cts.Token);
        return response.StatusCode;
    }
}

public enum BindNotificationOutcome
{
    Delivered,
    /// <summary>Unreachable, timed out, or a 5xx answer: the outbox tries again.</summary>
    Failed,
    /// <summary>Not a homeserver this identity server talks to: nothing to retry.</summary>
    NotConfigured,
}
