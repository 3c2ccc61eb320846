using Matrix.Rooms.Domain.Crypto;
using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Identifiers;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.ThirdPartyInvites;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.Extensions.Options;
using NodaTime;
using Matrix.Rooms.Host.Infrastructure.Sharding;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Rooms;

public sealed record CreateRoomResult(string? RoomId, MatrixError? Error);

/// <summary>Starts the room's stream with its first events (see <see cref="CreateRoomDecider"/>), in the room's shard
/// (<see cref="RoomShards"/>; the alias and directory entry stay in the main database's session).</summary>
public static class CreateRoomHandler
{
    public static async Task<CreateRoomResult> Handle(CreateRoom command, IDocumentSession session, IOptions<MatrixRoomsOptions> options, IClock clock,
        ServerSignature signer, RoomShards shards, IDocumentStore store, CancellationToken ct)
    {
        var decided = CreateRoomDecider.Decide(command, command.RoomId ?? RoomId.New(options.Value.ServerName), clock.GetCurrentInstant());
        if (!decided.IsSuccess) return new CreateRoomResult(null, decided.Error);
        // From v12 the room ID is the create event's reference hash, not the one proposed.
        var roomId = CreateRoomDecider.RoomIdOf(decided.Value);
        // The room's first events as PDUs, from depth 1, each authorised by the state the ones before it made.
        var version = Domain.Authorization.RoomVersion.Get(command.RoomVersion)!;
        var events = PduChain.Seal(decided.Value, Domain.Authorization.DictionaryAuthState.Empty, version, lastDepth: 0, signer);
        foreach (var ev in events)
            if (Domain.Events.EventLimits.Check(ev) is { } tooLarge) return new CreateRoomResult(null, tooLarge);
        if (shards.ShardOf(roomId) is var shard && shard == 0) session.Events.StartStream(roomId, events.ToArray<object>());
        else
        {
            // Another database: its own transaction, committed before the main one (alias, directory) — a room whose alias
            // insert then fails exists without it (docs/scale-out.md, limits).
            await using var roomSession = store.LightweightSession(RoomShards.TenantOf(shard));
            roomSession.Events.StartStream(roomId, events.ToArray<object>());
            await roomSession.SaveChangesAsync(ct);
        }
        // The alias in the room's creating transaction: a taken one (raced since the endpoint's check) fails both.
        if (command.CanonicalAlias is { } alias)
            session.Insert(new RoomDirectory.RoomAliasEntry { Id = alias, RoomId = roomId, Creator = command.Creator, CreatedAt = clock.GetCurrentInstant() });
        // Spec: visibility "public" — "the room will be shown in the published room directory".
        if (command.Visibility == "public")
            session.Store(new RoomDirectory.PublishedRoom { Id = roomId, PublishedBy = command.Creator, PublishedAt = clock.GetCurrentInstant() });
        return new CreateRoomResult(roomId, null);
    }
}

public static class CreateRoomEndpoint
{
    public static void MapCreateRoom(this IEndpointRouteBuilder api) =>
        api.MapPost("/createRoom", async (HttpContext http, Caller caller, IMessageBus bus, IQuerySession session, IOptions<MatrixRoomsOptions> options,
            CancellationToken ct) =>
        {
            var body = await http.Request.ReadObjectAsync(ct);
            var alias = await RoomDirectory.RoomAliasEndpoints.AliasForNewRoomAsync(session, body.OptionalString("room_alias_name"), options.Value.ServerName, ct);
            var invite3Pid = ThirdPartyInviteEndpoints.ParseInvite3Pid(http, body, caller.UserId);
            // The creator's join carries their display name, as a join through /join does (Features/Profile).
            var profile = await session.LoadAsync<Profile.UserProfile>(caller.UserId, ct);
            var command = new CreateRoom
            {
                Creator = caller.UserId,
                CreatorDisplayName = profile?.DisplayName,
                Preset = body.OptionalString("preset"),
                Visibility = body.OptionalString("visibility"),
                Name = body.OptionalString("name"),
                Topic = body.OptionalString("topic"),
                RoomVersion = body.OptionalString("room_version") ?? options.Value.DefaultRoomVersion,
                Invite = body.OptionalStrings("invite"),
                IsDirect = body.OptionalBool("is_direct") ?? false,
                CreationContent = body.OptionalObject("creation_content"),
                PowerLevelContentOverride = body.OptionalObject("power_level_content_override"),
                InitialState = body.OptionalArray("initial_state")?.Select(ParseInitialState).ToList() ?? [],
                CanonicalAlias = alias,
            };
            CreateRoomResult result;
            try
            {
                result = await bus.InvokeAsync<CreateRoomResult>(command, ct);
            }
            catch (Exception e) when (alias is not null && RoomDirectory.RoomAliasEndpoints.IsTaken(e))
            {
                return MatrixHttp.Error(RoomDirectory.RoomAliasEndpoints.RoomInUse(alias));
            }
            if (result.Error is null && await ThirdPartyInviteEndpoints.InviteAllAsync(bus, http.RequestServices.GetRequiredService<RoomShards>(), invite3Pid, result.RoomId!, ct) is { } failed)
                return MatrixHttp.Error(failed);
            return result.Error is not null
                ? MatrixHttp.Error(result.Error)
                : MatrixHttp.Ok(new JsonObject { ["room_id"] = result.RoomId });
        }).For(ClientEndpoint.CreateRoom);

    private static InitialStateEvent ParseInitialState(JsonNode? node)
    {
        if (node is not JsonObject item) throw new MatrixException(MatrixError.BadJson("initial_state entries must be objects"));
        return new InitialStateEvent(item.RequiredString("type"), item.OptionalString("state_key") ?? "",
            item.OptionalObject("content") ?? throw new MatrixException(MatrixError.MissingParam("initial_state[].content")));
    }
}
