using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.IdentityServer;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;

/// <summary>
/// The in-process adapter: the homeserver calls the embedded <see cref="IdentityService"/> (project
/// Matrix.Rooms.IdentityServer) directly, with the same checks its HTTP endpoints make. A token, when given, must be
/// one the embedded server accepts (the homeserver's own access tokens or one it issued through OpenID); without one
/// the homeserver itself is asking on its user's behalf (the seed's v1 form has no <c>id_access_token</c>).
/// </summary>
public sealed class EmbeddedIdentityServer(string name, IdentityService service, EmbeddedIdentityServerNames names) : IIdentityServer
{
    public string Name => name;

    public async Task<HashDetails> HashDetailsAsync(string? accessToken, CancellationToken ct)
    {
        await AuthenticateAsync(accessToken, ct);
        return service.HashDetails();
    }

    public async Task<IReadOnlyDictionary<string, string>> LookupAsync(string? accessToken, string algorithm, string pepper,
        IReadOnlyList<string> addresses, CancellationToken ct)
    {
        await AuthenticateAsync(accessToken, ct);
        return Unwrap(await service.LookupAsync(algorithm, pepper, addresses, ct));
    }

    public async Task<StoredInvite> StoreInviteAsync(string? accessToken, StoreInviteRequest request, CancellationToken ct)
    {
        var caller = await AuthenticateAsync(accessToken, ct);
        return Unwrap(await service.StoreInviteAsync(caller, request, names.PublicBaseUrl, ct));
    }

    public async Task<JsonObject> BindAsync(string? accessToken, string sid, string clientSecret, string mxid, CancellationToken ct)
    {
        var caller = await AuthenticateAsync(accessToken, ct);
        return Unwrap(await service.BindThreepidAsync(caller, sid, clientSecret, mxid, ct));
    }

    /// <summary>The token's user, or null (the homeserver itself) when there is no token.</summary>
    private async Task<string?> AuthenticateAsync(string? accessToken, CancellationToken ct)
    {
        if (accessToken is null) return null;
        return await service.UserOfTokenAsync(accessToken, ct)
               ?? throw Refused(new MatrixError(401, "M_UNAUTHORIZED", "Unrecognised identity server access token"));
    }

    private T Unwrap<T>(Result<T> result) => result.IsSuccess ? result.Value : throw Refused(result.Error!);

    private IdentityServerException Refused(MatrixError error) =>
        new(name, IdentityServerFailure.Refused, $"{error.Status} {error.ErrCode}: {error.Error}", error);
}
