using System.Net;
using System.Security.Cryptography;
using System.Text;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Projections.TimeTravel;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.Admin;

/// <summary>Settings of the operator API (section <c>MatrixRooms:Admin</c>).</summary>
public sealed class AdminApiOptions
{
    public const string Section = "MatrixRooms:Admin";

    /// <summary>
    /// A shared secret. When set, every admin request must carry <c>Authorization: Bearer &lt;token&gt;</c>, from any
    /// address. When unset, the admin API answers only requests made directly from the loopback interface.
    /// </summary>
    public string? Token { get; set; }
}

/// <summary>
/// The operator HTTP API, under <c>/_matrix/rooms-admin/v1</c> (outside the client-server API, so Matrix access tokens
/// mean nothing here): <c>GET /rooms/{roomId}/state[?at_version=N | ?at=ISO-8601]</c> answers time travel
/// (<see cref="RoomTimeTravel"/>) with the <see cref="RoomStateSummary"/> JSON.
/// </summary>
public static class AdminApi
{
    public const string Prefix = "/_matrix/rooms-admin/v1";

    /// <summary>The admin API's settings and the time travel it answers with (<see cref="RoomTimeTravel"/>).</summary>
    public static WebApplicationBuilder AddRoomsAdmin(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<AdminApiOptions>(builder.Configuration.GetSection(AdminApiOptions.Section));
        builder.Services.AddSingleton<RoomTimeTravel>();
        return builder;
    }

    public static IEndpointRouteBuilder MapRoomsAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup(Prefix).AddEndpointFilter(async (context, next) =>
            Refusal(context.HttpContext) is { } refused ? MatrixHttp.Error(refused) : await next(context));

        admin.MapGet("/rooms/{roomId}/state", async (string roomId, HttpRequest request, RoomTimeTravel timeTravel, CancellationToken ct) =>
        {
            // Rooms over several databases: the room's shard (docs/scale-out.md).
            var shards = request.HttpContext.RequestServices.GetRequiredService<Infrastructure.Sharding.RoomShards>();
            if (shards.IsSharded)
                timeTravel = new RoomTimeTravel(request.HttpContext.RequestServices.GetRequiredService<Marten.IDocumentStore>(), shards.TenantOfRoom(roomId));
            var point = RoomPoint.Parse(request.Query["at_version"].ToString(), request.Query["at"].ToString());
            if (!point.IsSuccess) return MatrixHttp.Error(point.Error!);
            var state = await timeTravel.StateAtAsync(roomId, point.Value, ct);
            return MatrixHttp.From(state, s => s.ToJson());
        });
        return app;
    }

    /// <summary>Null when the request may use the admin API, else the error to answer with.</summary>
    public static MatrixError? Refusal(HttpContext http)
    {
        var token = http.RequestServices.GetRequiredService<IOptions<AdminApiOptions>>().Value.Token;
        if (!string.IsNullOrEmpty(token))
        {
            var header = http.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                return new MatrixError(401, "M_MISSING_TOKEN", "The admin API needs 'Authorization: Bearer <MatrixRooms:Admin:Token>'");
            var given = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
            return CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(token))
                ? null
                : new MatrixError(401, "M_UNKNOWN_TOKEN", "Wrong admin token");
        }

        // No token configured: loopback only, and not through a proxy (a local reverse proxy makes every caller look local).
        var remote = http.Connection.RemoteIpAddress;
        var proxied = http.Request.Headers.ContainsKey("X-Forwarded-For") || http.Request.Headers.ContainsKey("Forwarded");
        return remote is not null && IPAddress.IsLoopback(remote) && !proxied
            ? null
            : MatrixError.Forbidden("The admin API answers only direct loopback requests unless MatrixRooms:Admin:Token is configured");
    }
}
