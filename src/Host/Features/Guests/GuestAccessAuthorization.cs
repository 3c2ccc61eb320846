using Wolverine.Attributes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Matrix.Rooms.Host.Features.Guests;

/// <summary>
/// Part of <see cref="AccessTokenAuthentication.CallerPolicy"/>: a guest may use an endpoint only if its
/// <see cref="ClientEndpointTag"/> is on the spec's guest list. An endpoint without a tag refuses guests (fail closed).
/// </summary>
public sealed class GuestAccessRequirement : IAuthorizationRequirement;

/// <summary>A guest refused by <see cref="GuestAccessHandler"/>, carrying the Matrix error to answer.</summary>
public sealed class GuestRefusal(IAuthorizationHandler handler, MatrixError error) : AuthorizationFailureReason(handler, error.Error)
{
    public MatrixError Error { get; } = error;
}

[WolverineIgnore] // an ASP.NET authorization handler, not a message handler
public sealed class GuestAccessHandler : AuthorizationHandler<GuestAccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, GuestAccessRequirement requirement)
    {
        if (Caller.From(context.User) is not { } caller) return Task.CompletedTask; // not authenticated: the challenge answers
        // The authorization middleware passes the request as the resource; without it there is no endpoint to check.
        var refusal = !caller.IsGuest ? null
            : context.Resource is HttpContext http ? GuestPolicyEndpoints.CheckGuest(http)
            : MatrixError.GuestAccessForbidden("Guest access is not allowed on this endpoint");
        if (refusal is null) context.Succeed(requirement);
        else context.Fail(new GuestRefusal(this, refusal));
        return Task.CompletedTask;
    }
}

/// <summary>Writes a guest refusal as its <c>403 M_GUEST_ACCESS_FORBIDDEN</c>; every other outcome is the framework's.</summary>
[WolverineIgnore] // ASP.NET's, not a message handler (its HandleAsync would be taken for one)
public sealed class GuestRefusalResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden && authorizeResult.AuthorizationFailure?.FailureReasons.OfType<GuestRefusal>().FirstOrDefault() is { } refusal)
        {
            await MatrixHttp.WriteErrorAsync(context, refusal.Error);
            return;
        }
        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
