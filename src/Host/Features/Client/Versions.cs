using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Infrastructure.Http;

namespace Matrix.Rooms.Host.Features.Client;

/// <summary>
/// <c>GET /_matrix/client/versions</c>: the spec versions whose client-server changes in this engine's scope hold
/// (docs/api.md "Spec versions"). v1.12–v1.15 add nothing in scope the engine lacks (their new endpoints — reports,
/// room summary, OAuth 2.0 metadata, media — are modules it does not serve, answered <c>404 M_UNRECOGNIZED</c> as the
/// spec lets a server without them answer). v1.16 is not claimed: it adds <c>use_state_after</c> to <c>/sync</c> and
/// custom profile fields, which are not served.
/// </summary>
public static class VersionsEndpoint
{
    /// <summary>Every version claimed, oldest first; the newest is the last one checked against its changelog.</summary>
    public static readonly string[] Supported =
        ["r0.0.1", "r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12", "v1.13", "v1.14", "v1.15"];

    public static void MapVersions(this IEndpointRouteBuilder app) =>
        app.MapGet("/_matrix/client/versions", () => MatrixHttp.Ok(new JsonObject
        {
            ["versions"] = new JsonArray([.. Supported.Select(v => JsonValue.Create(v))]),
            ["unstable_features"] = new JsonObject(),
        })).AllowAnonymous();
}
