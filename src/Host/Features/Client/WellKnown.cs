using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.Client;

/// <summary>
/// <c>GET /.well-known/matrix/client</c> (spec wellknown.yaml): where clients find the homeserver.
/// <c>MatrixRooms:PublicBaseUrl</c> when set; else the address the client reached this server at.
/// </summary>
public static class WellKnownEndpoint
{
    public static void MapWellKnown(this IEndpointRouteBuilder app) =>
        app.MapGet("/.well-known/matrix/client", (HttpContext http, IOptions<MatrixRoomsOptions> options) =>
        {
            var baseUrl = options.Value.PublicBaseUrl is { Length: > 0 } configured
                ? configured.TrimEnd('/')
                : $"{http.Request.Scheme}://{http.Request.Host}";
            return MatrixHttp.Ok(new JsonObject { ["m.homeserver"] = new JsonObject { ["base_url"] = baseUrl } });
        }).AllowAnonymous();
}
