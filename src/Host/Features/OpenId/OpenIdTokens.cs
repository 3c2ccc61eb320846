using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.Extensions.Options;
using NodaTime;

namespace Matrix.Rooms.Host.Features.OpenId;

/// <summary>An OpenID token the homeserver issued (stored by its SHA-256).</summary>
public sealed record OpenIdTokenRecord
{
    public required string Id { get; init; }
    public required string UserId { get; init; }
    public Instant ExpiresAt { get; init; }
}

/// <summary>
/// The homeserver's half of the OpenID handshake identity servers use to issue their own tokens (client-server API
/// <c>POST /user/{userId}/openid/request_token</c>; server-server API <c>GET /openid/userinfo</c>). The identity
/// server's half is its <c>POST /_matrix/identity/v2/account/register</c> (project Matrix.Rooms.IdentityServer), which
/// asks <c>userinfo</c> whose token it was given — in process when embedded (<see cref="ThirdPartyInvites.EmbeddingHomeserver"/>).
/// </summary>
public sealed class OpenIdTokens(IDocumentStore store, IClock clock)
{
    public static readonly Duration Lifetime = Duration.FromHours(1);

    public async Task<string> IssueAsync(string userId, CancellationToken ct)
    {
        var token = AccessTokens.NewToken();
        await using var session = store.LightweightSession();
        session.Store(new OpenIdTokenRecord { Id = AccessTokens.HashOf(token), UserId = userId, ExpiresAt = clock.GetCurrentInstant() + Lifetime });
        await session.SaveChangesAsync(ct);
        return token;
    }

    public async Task<string?> UserOfAsync(string token, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var record = await session.LoadAsync<OpenIdTokenRecord>(AccessTokens.HashOf(token), ct);
        return record is not null && record.ExpiresAt > clock.GetCurrentInstant() ? record.UserId : null;
    }
}

public static class OpenIdEndpoints
{
    /// <summary><c>POST /user/{userId}/openid/request_token</c> (under a client-server prefix).</summary>
    public static void MapOpenIdRequestToken(this IEndpointRouteBuilder api) =>
        api.MapPost("/user/{userId}/openid/request_token", async (HttpContext http, Caller caller, string userId, OpenIdTokens tokens,
            IOptions<MatrixRoomsOptions> options, CancellationToken ct) =>
        {
            await http.Request.ReadObjectAsync(ct);
            if (caller.UserId != userId)
                return MatrixHttp.Error(MatrixError.Forbidden($"{caller.UserId} cannot request an OpenID token for {userId}"));
            var token = await tokens.IssueAsync(userId, ct);
            return MatrixHttp.Ok(new JsonObject
            {
                ["access_token"] = token, ["token_type"] = "Bearer", ["matrix_server_name"] = options.Value.ServerName,
                ["expires_in"] = (long)OpenIdTokens.Lifetime.TotalSeconds,
            });
        });

    /// <summary><c>GET /_matrix/federation/v1/openid/userinfo?access_token=…</c> → <c>{"sub": userId}</c>.</summary>
    public static void MapOpenIdUserInfo(this IEndpointRouteBuilder app) =>
        app.MapGet("/_matrix/federation/v1/openid/userinfo", async (HttpContext http, OpenIdTokens tokens, CancellationToken ct) =>
        {
            var token = http.Request.Query["access_token"].ToString();
            var userId = string.IsNullOrEmpty(token) ? null : await tokens.UserOfAsync(token, ct);
            return userId is null
                ? MatrixHttp.Error(MatrixError.UnknownToken() with { Error = "The OpenID token is unknown or has expired" })
                : MatrixHttp.Ok(new JsonObject { ["sub"] = userId });
        });
}
