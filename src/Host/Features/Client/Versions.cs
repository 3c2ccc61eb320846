using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Infrastructure.Http;

namespace Matrix.Rooms.Host.Features.Client;

/// <summary><c>GET /_matrix/client/versions</c>: the spec versions this server speaks.</summary>
public static class VersionsEndpoint
{
    public static void MapVersions(this IEndpointRouteBuilder app) =>
        app.MapGet("/_matrix/client/versions", () => MatrixHttp.Ok(new JsonObject
        {
            ["versions"] = new JsonArray("r0.0.1", "r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11"),
            ["unstable_features"] = new JsonObject(),
        })).AllowAnonymous();
}
