using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.Client;

/// <summary>
/// <c>GET /capabilities</c> (spec capabilities.yaml): what this server truly offers. The room versions are the engine's
/// (<see cref="RoomVersion.All"/>, all stable; the default is <see cref="MatrixRoomsOptions.DefaultRoomVersion"/>); there is no password
/// change, no account third-party-ID change and no login-token endpoint, so those are false.
/// </summary>
public static class CapabilitiesEndpoint
{
    public static JsonObject Capabilities(string defaultRoomVersion)
    {
        var available = new JsonObject();
        foreach (var version in RoomVersion.All) available[version.Id] = "stable";
        return new JsonObject
        {
            ["capabilities"] = new JsonObject
            {
                ["m.change_password"] = Enabled(false),
                ["m.room_versions"] = new JsonObject { ["default"] = defaultRoomVersion, ["available"] = available },
                ["m.set_displayname"] = Enabled(true),
                ["m.set_avatar_url"] = Enabled(true),
                ["m.3pid_changes"] = Enabled(false),
                ["m.get_login_token"] = Enabled(false),
            },
        };
    }

    public static void MapCapabilities(this IEndpointRouteBuilder api) =>
        api.MapGet("/capabilities", (IOptions<MatrixRoomsOptions> options) => MatrixHttp.Ok(Capabilities(options.Value.DefaultRoomVersion))).For(ClientEndpoint.GetCapabilities);

    private static JsonObject Enabled(bool enabled) => new() { ["enabled"] = enabled };
}
