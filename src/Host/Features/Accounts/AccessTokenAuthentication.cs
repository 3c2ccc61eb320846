using System.Text.Encodings.Web;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.Accounts;

/// <summary>
/// Matrix access tokens on ASP.NET Core's authentication and authorization (spec client-server API "Client
/// Authentication"): the <see cref="Scheme"/> handler resolves the token once per request, and endpoints that need a
/// caller require <see cref="CallerPolicy"/> — a valid token, and a guest only where the guest list allows
/// (<see cref="GuestAccessRequirement"/>).
/// </summary>
public static class AccessTokenAuthentication
{
    public const string Scheme = "MatrixAccessToken";
    public const string CallerPolicy = "MatrixCaller";

    public static IServiceCollection AddMatrixAuthentication(this IServiceCollection services)
    {
        // No default scheme: UseAuthentication resolves nothing by itself, so an endpoint that takes no token never
        // costs a lookup; the policy names the scheme and authorization authenticates with it.
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, AccessTokenAuthenticationHandler>(Scheme, null);
        var policy = new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().AddRequirements(new GuestAccessRequirement()).Build();
        services.AddAuthorizationBuilder()
            .AddPolicy(CallerPolicy, policy)
            // A bare RequireAuthorization() means the same.
            .SetDefaultPolicy(policy);
        services.AddSingleton<IAuthorizationHandler, GuestAccessHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, GuestRefusalResultHandler>();
        return services;
    }

    /// <summary>The endpoint (or group) needs a caller: 401 without a valid access token, 403 for a guest off the guest list.</summary>
    public static TBuilder RequireMatrixCaller<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(CallerPolicy);
}

/// <summary>
/// Resolves <c>Authorization: Bearer</c> (or the deprecated <c>access_token</c> query parameter) to its stored token
/// with the request's own <see cref="IQuerySession"/> — the session the endpoint reads with, not a second one.
/// No token: no result (the challenge answers <c>401 M_MISSING_TOKEN</c>); an unknown or logged-out token: failure
/// (<c>401 M_UNKNOWN_TOKEN</c>, <c>soft_logout: false</c>). A database failure propagates, so the exception handler
/// answers it as it answers any other request that needs the database.
/// </summary>
public sealed class AccessTokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Authorization authenticates even for [AllowAnonymous] endpoints in an authorized group; those take no token.
        if (Context.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is not null) return AuthenticateResult.NoResult();
        if (AccessTokens.TokenFrom(Request) is not { } token) return AuthenticateResult.NoResult();
        var session = Context.RequestServices.GetRequiredService<IQuerySession>();
        var record = await session.LoadAsync<AccessTokenRecord>(AccessTokens.HashOf(token), Context.RequestAborted);
        if (record is null) return AuthenticateResult.Fail("Unrecognised access token");
        var caller = new Caller(record.UserId, record.DeviceId, record.IsGuest, record.Id);
        return AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(), Scheme.Name));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        await MatrixHttp.WriteErrorAsync(Context, result.None ? MatrixError.MissingToken() : MatrixError.UnknownToken());
    }

    /// <summary>Guest refusals are written by <see cref="GuestRefusalResultHandler"/> with their reason; this is any other refusal.</summary>
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        MatrixHttp.WriteErrorAsync(Context, MatrixError.Forbidden("You are not allowed to use this endpoint")).AsTask();
}
