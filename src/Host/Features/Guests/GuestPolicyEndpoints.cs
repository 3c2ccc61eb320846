using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Guests;

namespace Matrix.Rooms.Host.Features.Guests;

/// <summary>Endpoint metadata naming which <see cref="ClientEndpoint"/> a route is, for the guest policy.</summary>
public sealed record ClientEndpointTag(ClientEndpoint Endpoint);

public static class GuestPolicyEndpoints
{
    /// <summary>Tags a route so a guest token is checked against the spec's guest list (<see cref="GuestAccessRequirement"/>).</summary>
    public static TBuilder For<TBuilder>(this TBuilder builder, ClientEndpoint endpoint) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ClientEndpointTag(endpoint));

    /// <summary>
    /// A guest may call only the endpoints on the spec's guest list; an untagged route is refused (fail closed), so a
    /// new endpoint is closed to guests until someone decides otherwise.
    /// </summary>
    public static MatrixError? CheckGuest(HttpContext context)
    {
        var tag = context.GetEndpoint()?.Metadata.GetMetadata<ClientEndpointTag>();
        return tag is null
            ? MatrixError.GuestAccessForbidden("Guest access is not allowed on this endpoint")
            : GuestPolicy.CheckEndpoint(tag.Endpoint, isGuest: true);
    }
}
