using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Host.Features.Client;

/// <summary><c>GET /joined_rooms</c> (spec list_joined_rooms.yaml): the rooms the caller is joined to now, from the <see cref="RoomMember"/> rows.</summary>
public static class JoinedRoomsEndpoint
{
    public static void MapJoinedRooms(this IEndpointRouteBuilder api) =>
        api.MapGet("/joined_rooms", async (Caller caller, Infrastructure.Sharding.RoomSessions sessions, CancellationToken ct) =>
        {
            var rooms = await JoinedRoomIdsAsync(sessions, caller.UserId, ct);
            return MatrixHttp.Ok(new JsonObject { ["joined_rooms"] = new JsonArray(rooms.Select(r => (JsonNode)r).ToArray()) });
        }).For(ClientEndpoint.GetJoinedRooms);

    /// <summary>The user's joined rooms over every shard (one query per shard), in one order.</summary>
    public static async Task<IReadOnlyList<string>> JoinedRoomIdsAsync(Infrastructure.Sharding.RoomSessions sessions, string userId, CancellationToken ct)
    {
        if (!sessions.Shards.IsSharded) return await JoinedRoomIdsAsync(sessions.Main, userId, ct);
        var all = new List<string>();
        foreach (var session in sessions.All) all.AddRange(await JoinedRoomIdsAsync(session, userId, ct));
        return all.Order(StringComparer.Ordinal).ToList();
    }

    public static async Task<IReadOnlyList<string>> JoinedRoomIdsAsync(IQuerySession session, string userId, CancellationToken ct)
    {
        var rows = await session.Query<RoomMember>().Where(m => m.UserId == userId && m.Membership == Memberships.Join)
            .Select(m => m.RoomId).ToListAsync(ct);
        return rows.Order(StringComparer.Ordinal).ToList();
    }
}
