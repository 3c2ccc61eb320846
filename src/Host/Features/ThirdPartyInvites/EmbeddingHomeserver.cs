using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.OpenId;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.IdentityServer;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites;

/// <summary>
/// What the embedded identity server may ask this homeserver, in process: the same code behind the endpoints it would
/// call over HTTP (<c>/openid/userinfo</c>, <c>/3pid/onbind</c>, <c>/account/whoami</c>). The identity server never
/// reads the homeserver's documents itself.
/// </summary>
public sealed class EmbeddingHomeserver(IOptions<MatrixRoomsOptions> options, OpenIdTokens openIdTokens, OnBindProcessor onBind,
    IDocumentStore store) : IEmbeddingHomeserver
{
    public string ServerName => options.Value.ServerName;

    public Task<string?> UserOfOpenIdTokenAsync(string openIdToken, CancellationToken ct) => openIdTokens.UserOfAsync(openIdToken, ct);

    public Task<MatrixError?> OnBindAsync(JsonObject notification, CancellationToken ct) => onBind.OnBindAsync(notification, ct);

    public async Task<string?> UserOfAccessTokenAsync(string accessToken, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var record = await session.LoadAsync<AccessTokenRecord>(AccessTokens.HashOf(accessToken), ct);
        return record is { IsGuest: false } ? record.UserId : null;
    }
}
