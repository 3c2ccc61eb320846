using System.Text.Json.Nodes;
using Marten;
using JasperFx;
using Marten.Exceptions;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Identifiers;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Features.Reading;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Host.Infrastructure.Sharding;
using Microsoft.Extensions.Options;
using NodaTime;
using Wolverine;

namespace Matrix.Rooms.Host.Features.RoomDirectory;

/// <summary>One of this server's room aliases (spec "Room aliases"): the alias is the document ID, so it is taken once.</summary>
public sealed record RoomAliasEntry
{
    /// <summary>The alias, <c>#localpart:server</c>.</summary>
    public required string Id { get; init; }
    public required string RoomId { get; init; }
    public required string Creator { get; init; }
    public Instant CreatedAt { get; init; }
}

public sealed record CreateRoomAlias(string Alias, string RoomId, string Creator);

public sealed record DeleteRoomAlias(string Alias);

/// <summary>Alias writes. A taken alias fails the insert (<see cref="DocumentAlreadyExistsException"/>) whoever wins a race.</summary>
public static class RoomAliasHandler
{
    public static void Handle(CreateRoomAlias command, IDocumentSession session, IClock clock) =>
        session.Insert(new RoomAliasEntry { Id = command.Alias, RoomId = command.RoomId, Creator = command.Creator, CreatedAt = clock.GetCurrentInstant() });

    public static void Handle(DeleteRoomAlias command, IDocumentSession session) => session.Delete<RoomAliasEntry>(command.Alias);
}

/// <summary>
/// <c>PUT/GET/DELETE /directory/room/{roomAlias}</c>, <c>GET /rooms/{roomId}/aliases</c> (spec directory.yaml), and the
/// alias resolution of <c>/join/{roomIdOrAlias}</c>, <c>/knock/{roomIdOrAlias}</c> and <c>createRoom</c>'s
/// <c>room_alias_name</c>. Only this server's aliases exist: there is no federation to ask about others.
/// </summary>
public static class RoomAliasEndpoints
{
    public static void MapRoomAliases(this IEndpointRouteBuilder api)
    {
        api.MapPut("/directory/room/{roomAlias}", async (HttpContext http, Caller caller, string roomAlias, IQuerySession session,
            IOptions<MatrixRoomsOptions> options, IMessageBus bus, CancellationToken ct) =>
        {
            var alias = LocalAlias(roomAlias, options.Value.ServerName);
            var body = await http.Request.ReadObjectAsync(ct);
            var roomId = body.RequiredString("room_id");
            RoomEndpoints.ValidateRoomId(roomId);
            if (await http.RoomSession(roomId).LoadAsync<Projections.Documents.RoomHead>(roomId, ct) is null)
                return MatrixHttp.Error(MatrixError.NotFound($"Unknown room {roomId}"));
            if (await session.LoadAsync<RoomAliasEntry>(alias, ct) is not null) return MatrixHttp.Error(Taken(alias));
            try
            {
                await bus.InvokeAsync(new CreateRoomAlias(alias, roomId, caller.UserId), ct);
            }
            catch (Exception e) when (IsTaken(e))
            {
                return MatrixHttp.Error(Taken(alias));
            }
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.SetRoomAlias);

        // No access token needed (spec: "security: []" for the lookup).
        api.MapGet("/directory/room/{roomAlias}", async (string roomAlias, IQuerySession session, IOptions<MatrixRoomsOptions> options, CancellationToken ct) =>
        {
            if (!RoomAlias.IsValid(roomAlias)) return MatrixHttp.Error(MatrixError.InvalidParam($"Not a valid room alias: {roomAlias}"));
            return await session.LoadAsync<RoomAliasEntry>(roomAlias, ct) is { } entry
                ? MatrixHttp.Ok(new JsonObject { ["room_id"] = entry.RoomId, ["servers"] = new JsonArray(options.Value.ServerName) })
                : MatrixHttp.Error(MatrixError.NotFound($"Room alias {roomAlias} not found"));
        }).AllowAnonymous();

        api.MapDelete("/directory/room/{roomAlias}", async (HttpContext http, Caller caller, string roomAlias, IQuerySession session, IOptions<MatrixRoomsOptions> options,
            IMessageBus bus, CancellationToken ct) =>
        {
            var alias = LocalAlias(roomAlias, options.Value.ServerName);
            if (await session.LoadAsync<RoomAliasEntry>(alias, ct) is not { } entry)
                return MatrixHttp.Error(MatrixError.NotFound($"Room alias {alias} not found"));
            if (entry.Creator != caller.UserId && !await MayChangeAliasesAsync(http.RoomSession(entry.RoomId), entry.RoomId, caller.UserId, ct))
                return MatrixHttp.Error(MatrixError.Forbidden($"{caller.UserId} neither created {alias} nor may set the aliases of {entry.RoomId}"));
            await bus.InvokeAsync(new DeleteRoomAlias(alias), ct);
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.DeleteRoomAlias);

        // Spec: the caller must be able to read the room (joined, or world-readable history) — RoomReader's check.
        api.MapGet("/rooms/{roomId}/aliases", async (Caller caller, string roomId, RoomReader reader, IQuerySession session, CancellationToken ct) =>
        {
            RoomEndpoints.ValidateRoomId(roomId);
            await reader.ViewerAsync(roomId, caller, ct);
            var aliases = await session.Query<RoomAliasEntry>().Where(a => a.RoomId == roomId).Select(a => a.Id).ToListAsync(ct);
            return MatrixHttp.Ok(new JsonObject { ["aliases"] = new JsonArray(aliases.Order(StringComparer.Ordinal).Select(a => (JsonNode)a).ToArray()) });
        }).For(ClientEndpoint.GetRoomAliases);
    }

    /// <summary>A room ID as given, or the room an alias of this server names (<c>404 M_NOT_FOUND</c> when it names none).</summary>
    public static async Task<string> ResolveAsync(HttpContext http, string roomIdOrAlias, CancellationToken ct)
    {
        if (!roomIdOrAlias.StartsWith('#')) return roomIdOrAlias;
        if (!RoomAlias.IsValid(roomIdOrAlias)) throw new MatrixException(MatrixError.InvalidParam($"Not a valid room alias: {roomIdOrAlias}"));
        var entry = await http.RequestServices.GetRequiredService<IQuerySession>().LoadAsync<RoomAliasEntry>(roomIdOrAlias, ct);
        return entry?.RoomId ?? throw new MatrixException(MatrixError.NotFound($"Room alias {roomIdOrAlias} not found"));
    }

    /// <summary><c>createRoom</c>'s <c>room_alias_name</c> → <c>#name:server</c>: <c>400 M_INVALID_PARAM</c> if that is no alias,
    /// <c>400 M_ROOM_IN_USE</c> if it is taken (checked again by the insert in the room's creating transaction).</summary>
    public static async Task<string?> AliasForNewRoomAsync(IQuerySession session, string? roomAliasName, string serverName, CancellationToken ct)
    {
        if (roomAliasName is null) return null;
        var alias = $"#{roomAliasName}:{serverName}";
        if (!RoomAlias.IsValid(alias)) throw new MatrixException(MatrixError.InvalidParam($"room_alias_name does not make a valid alias: {alias}"));
        if (await session.LoadAsync<RoomAliasEntry>(alias, ct) is not null) throw new MatrixException(RoomInUse(alias));
        return alias;
    }

    public static MatrixError RoomInUse(string alias) => new(400, "M_ROOM_IN_USE", $"Room alias {alias} is already taken");

    public static bool IsTaken(Exception? e) => e switch
    {
        null => false,
        DocumentAlreadyExistsException { DocType: var t } when t == typeof(RoomAliasEntry) => true,
        AggregateException all => all.InnerExceptions.Any(IsTaken),
        _ => IsTaken(e.InnerException),
    };

    private static MatrixError Taken(string alias) => MatrixError.Unknown(409, $"Room alias {alias} already exists");

    private static string LocalAlias(string roomAlias, string serverName)
    {
        if (!RoomAlias.IsValid(roomAlias)) throw new MatrixException(MatrixError.InvalidParam($"Not a valid room alias: {roomAlias}"));
        if (RoomAlias.ServerOf(roomAlias) != serverName)
            throw new MatrixException(MatrixError.InvalidParam($"Only aliases of this server ({serverName}) can be managed here"));
        return roomAlias;
    }

    /// <summary>A room admin, for aliases: one whose level lets them send <c>m.room.canonical_alias</c> (as Synapse decides it).</summary>
    private static async Task<bool> MayChangeAliasesAsync(IQuerySession session, string roomId, string userId, CancellationToken ct)
    {
        var (_, state) = await RoomWriter.LoadAsync(session, roomId, [EventAuth.CreateKey, EventAuth.PowerLevelsKey], ct);
        if (state.Get(EventAuth.CreateKey) is not CreateEvent create || RoomVersion.Get(create.RoomVersion) is not { } version) return false;
        var levels = PowerLevels.Current(state.Get(EventAuth.PowerLevelsKey), create, version);
        var needed = levels.Events.TryGetValue(EventTypes.CanonicalAlias, out var level) ? level : levels.StateDefault;
        return levels.UserLevel(userId) >= needed;
    }
}
