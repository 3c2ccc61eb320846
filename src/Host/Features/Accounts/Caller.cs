using System.Globalization;
using System.Reflection;
using System.Security.Claims;

namespace Matrix.Rooms.Host.Features.Accounts;

/// <summary>
/// Who is calling: the user behind a valid access token, as <see cref="AccessTokenAuthentication"/> resolved it once
/// for the request. An endpoint that requires <see cref="AccessTokenAuthentication.CallerPolicy"/> takes it as a
/// parameter (minimal APIs bind it through <see cref="BindAsync"/>); the same facts are the request's
/// <see cref="HttpContext.User"/> claims.
/// </summary>
/// <param name="TokenId">The stored token's ID (the SHA-256 of the token), so logout can delete it.</param>
public sealed record Caller(string UserId, string DeviceId, bool IsGuest, string TokenId)
{
    public const string UserIdClaim = "matrix:user_id";
    public const string DeviceIdClaim = "matrix:device_id";
    public const string IsGuestClaim = "matrix:is_guest";
    public const string TokenIdClaim = "matrix:token_id";

    public ClaimsPrincipal ToPrincipal() => new(new ClaimsIdentity(
    [
        new Claim(UserIdClaim, UserId), new Claim(DeviceIdClaim, DeviceId),
        new Claim(IsGuestClaim, IsGuest ? "true" : "false", ClaimValueTypes.Boolean), new Claim(TokenIdClaim, TokenId),
    ], AccessTokenAuthentication.Scheme, UserIdClaim, roleType: null));

    /// <summary>The caller an access token authenticated, or null when <paramref name="user"/> is not one.</summary>
    public static Caller? From(ClaimsPrincipal user)
    {
        var identity = user.Identities.FirstOrDefault(i => i is { IsAuthenticated: true, AuthenticationType: AccessTokenAuthentication.Scheme });
        return identity?.FindFirst(UserIdClaim)?.Value is { } userId
            ? new Caller(userId, identity.FindFirst(DeviceIdClaim)?.Value ?? "",
                bool.Parse(identity.FindFirst(IsGuestClaim)?.Value ?? "false"), identity.FindFirst(TokenIdClaim)?.Value ?? "")
            : null;
    }

    /// <summary>
    /// Minimal-API binding of a <see cref="Caller"/> parameter. The authorization policy has already answered 401/403
    /// by the time it runs, so a missing caller means the endpoint was mapped without the policy: a wiring mistake,
    /// refused loudly rather than served anonymously (a test walks every endpoint for it).
    /// </summary>
    public static ValueTask<Caller?> BindAsync(HttpContext http, ParameterInfo parameter) =>
        ValueTask.FromResult<Caller?>(From(http.User) ?? throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
            $"{http.GetEndpoint()?.DisplayName} takes a Caller but does not require the '{AccessTokenAuthentication.CallerPolicy}' policy")));
}
