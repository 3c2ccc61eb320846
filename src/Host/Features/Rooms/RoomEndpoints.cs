using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.ThirdPartyInvites;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Projections.Documents;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Rooms;

/// <summary>
/// The membership endpoints (spec client-server API → "Room membership"): invite, join, leave, kick, ban, unban, knock,
/// and <c>PUT /state</c>. Each parses its body, sends the command over the bus and maps the result.
/// </summary>
public static class RoomEndpoints
{
    public static void MapRoomMembership(this IEndpointRouteBuilder api)
    {
        api.MapPost("/rooms/{roomId}/invite", Invite).For(ClientEndpoint.Invite).RequireRateLimiting(MatrixRateLimits.Invite);
        // Both answer {"room_id": …} (spec joining.yaml: required).
        api.MapPost("/rooms/{roomId}/join", (HttpContext http, Caller caller, string roomId, IMessageBus bus, CancellationToken ct) =>
            Join(http, caller, roomId, bus, ct, includeRoomId: true)).For(ClientEndpoint.JoinRoom);
        api.MapPost("/join/{roomIdOrAlias}", (HttpContext http, Caller caller, string roomIdOrAlias, IMessageBus bus, CancellationToken ct) =>
            JoinByIdOrAlias(http, caller, roomIdOrAlias, bus, ct)).For(ClientEndpoint.JoinRoomByIdOrAlias);
        api.MapPost("/rooms/{roomId}/leave", (HttpContext http, Caller caller, string roomId, IMessageBus bus, CancellationToken ct) =>
            Send(http, caller, roomId, bus, ct, body => new LeaveRoom { RoomId = roomId, Sender = caller.UserId, Reason = body.OptionalString("reason"), SenderIsGuest = caller.IsGuest })).For(ClientEndpoint.LeaveRoom);
        api.MapPost("/rooms/{roomId}/kick", (HttpContext http, Caller caller, string roomId, IMessageBus bus, CancellationToken ct) =>
            Send(http, caller, roomId, bus, ct, body => new KickUser
                { RoomId = roomId, Sender = caller.UserId, SenderIsGuest = caller.IsGuest, UserId = TargetUser(body), Reason = body.OptionalString("reason") })).For(ClientEndpoint.Kick);
        api.MapPost("/rooms/{roomId}/ban", (HttpContext http, Caller caller, string roomId, IMessageBus bus, CancellationToken ct) =>
            Send(http, caller, roomId, bus, ct, body => new BanUser
                { RoomId = roomId, Sender = caller.UserId, SenderIsGuest = caller.IsGuest, UserId = TargetUser(body), Reason = body.OptionalString("reason") })).For(ClientEndpoint.Ban);
        api.MapPost("/rooms/{roomId}/unban", (HttpContext http, Caller caller, string roomId, IMessageBus bus, CancellationToken ct) =>
            Send(http, caller, roomId, bus, ct, body => new UnbanUser
                { RoomId = roomId, Sender = caller.UserId, SenderIsGuest = caller.IsGuest, UserId = TargetUser(body), Reason = body.OptionalString("reason") })).For(ClientEndpoint.Unban);
        api.MapPost("/knock/{roomIdOrAlias}", async (HttpContext http, Caller caller, string roomIdOrAlias, IMessageBus bus, CancellationToken ct) =>
        {
            var roomId = await RoomDirectory.RoomAliasEndpoints.ResolveAsync(http, roomIdOrAlias, ct);
            return await Send(http, caller, roomId, bus, ct, body => new KnockRoom { RoomId = roomId, Sender = caller.UserId, SenderIsGuest = caller.IsGuest, Reason = body.OptionalString("reason") },
                includeRoomId: true);
        }).For(ClientEndpoint.Knock);
        api.MapPut("/rooms/{roomId}/state/{eventType}/{stateKey}", (HttpContext http, Caller caller, string roomId, string eventType, string stateKey,
            IMessageBus bus, IQuerySession session, CancellationToken ct) => SetState(http, caller, roomId, eventType, stateKey, bus, session, ct)).For(ClientEndpoint.SetRoomState)
            .RequireRateLimiting(MatrixRateLimits.Send);
        api.MapPut("/rooms/{roomId}/state/{eventType}", (HttpContext http, Caller caller, string roomId, string eventType, IMessageBus bus,
            IQuerySession session, CancellationToken ct) => SetState(http, caller, roomId, eventType, "", bus, session, ct)).For(ClientEndpoint.SetRoomState)
            .RequireRateLimiting(MatrixRateLimits.Send);
        api.MapGet("/rooms/{roomId}/joined_members", JoinedMembers).For(ClientEndpoint.GetJoinedMembers);
    }

    /// <summary>
    /// <c>POST /rooms/{roomId}/invite</c>: with <c>user_id</c> an invite by Matrix ID, with <c>id_server</c>/<c>medium</c>/<c>address</c>
    /// an invite by third-party identifier (<see cref="InviteByThirdPartyId"/>). The seed's legacy path
    /// (<c>/_matrix/client/api/v1/rooms/{roomId}/invite</c>) maps here too.
    /// </summary>
    public static async Task<IResult> Invite(HttpContext http, Caller caller, string roomId, IMessageBus bus, CancellationToken ct) =>
        await Send(http, caller, roomId, bus, ct, body =>
        {
            // The third-party form (id_server, medium, address): see Features/ThirdPartyInvites.
            if (ThirdPartyInviteEndpoints.IsThirdPartyForm(body)) return ThirdPartyInviteEndpoints.ParseInvite(http, roomId, caller.UserId, body);
            return new InviteUser { RoomId = roomId, Sender = caller.UserId, SenderIsGuest = caller.IsGuest, UserId = TargetUser(body), Reason = body.OptionalString("reason") };
        });

    /// <summary><c>POST /join/{roomIdOrAlias}</c>: an alias of this server is resolved, then joined as by ID.</summary>
    private static async Task<IResult> JoinByIdOrAlias(HttpContext http, Caller caller, string roomIdOrAlias, IMessageBus bus, CancellationToken ct) =>
        await Join(http, caller, await RoomDirectory.RoomAliasEndpoints.ResolveAsync(http, roomIdOrAlias, ct), bus, ct, includeRoomId: true);

    private static async Task<IResult> Join(HttpContext http, Caller caller, string roomId, IMessageBus bus, CancellationToken ct, bool includeRoomId = false)
    {
        // The join event carries the user's display name, as servers do (Features/Profile).
        var profile = await http.RequestServices.GetRequiredService<IQuerySession>().LoadAsync<Profile.UserProfile>(caller.UserId, ct);
        return await Send(http, caller, roomId, bus, ct, body => new JoinRoom
        {
            RoomId = roomId, Sender = caller.UserId, SenderIsGuest = caller.IsGuest, Reason = body.OptionalString("reason"),
            DisplayName = profile?.DisplayName,
        }, includeRoomId);
    }

    private static async Task<IResult> SetState(HttpContext http, Caller caller, string roomId, string eventType, string stateKey, IMessageBus bus,
        IQuerySession session, CancellationToken ct)
    {
        ValidateRoomId(roomId);
        var body = await http.Request.ReadObjectAsync(ct);
        var rooms = http.RequestServices.GetRequiredService<Infrastructure.Sharding.RoomSessions>();
        if (eventType == EventTypes.CanonicalAlias && await CanonicalAliasErrorAsync(rooms.For(roomId), session, roomId, stateKey, body, ct) is { } badAlias)
            return MatrixHttp.Error(badAlias);
        var result = await rooms.Shards.InvokeAsync<RoomCommandResult>(bus, new SetRoomState
        {
            RoomId = roomId, Sender = caller.UserId, SenderIsGuest = caller.IsGuest, EventType = eventType, StateKey = stateKey, Content = body,
        }, ct);
        return EventIdOrError(result);
    }

    /// <summary>
    /// <c>m.room.canonical_alias</c> (spec <c>PUT /state</c>): the aliases it adds to the current event must be valid
    /// (<c>400 M_INVALID_PARAM</c>) and name this room in this server's directory (<c>400 M_BAD_ALIAS</c>), as Synapse
    /// checks them; one read of the current event, one of the new aliases. Read before the room's write lock: the
    /// directory may change meanwhile, as it may right after.
    /// </summary>
    private static async Task<MatrixError?> CanonicalAliasErrorAsync(IQuerySession room, IQuerySession session, string roomId, string stateKey, JsonObject body,
        CancellationToken ct)
    {
        var current = await room.LoadAsync<RoomStateEntry>(RoomStateEntry.IdFor(roomId, EventTypes.CanonicalAlias, stateKey), ct);
        var fresh = StateContentRules.NewCanonicalAliases(body, current?.Event.Content);
        if (fresh.Error is { } invalid) return invalid;
        if (fresh.Value.Count == 0) return null;
        var rooms = (await session.LoadManyAsync<RoomDirectory.RoomAliasEntry>(ct, fresh.Value)).ToDictionary(a => a.Id, a => a.RoomId);
        return StateContentRules.CheckAliasesPointTo(fresh.Value, roomId, alias => rooms.GetValueOrDefault(alias));
    }

    private static async Task<IResult> Send(HttpContext http, Caller caller, string roomId, IMessageBus bus, CancellationToken ct,
        Func<JsonObject, RoomCommand> command, bool includeRoomId = false, bool includeEventId = false)
    {
        ValidateRoomId(roomId);
        var body = await http.Request.ReadObjectAsync(ct);
        var result = await http.RequestServices.GetRequiredService<Infrastructure.Sharding.RoomShards>().InvokeAsync<RoomCommandResult>(bus, command(body), ct);
        if (result.Error is not null) return MatrixHttp.Error(result.Error);
        var response = new JsonObject();
        if (includeRoomId) response["room_id"] = result.RoomId;
        if (includeEventId) response["event_id"] = result.EventId;
        return MatrixHttp.Ok(response);
    }

    /// <summary><c>GET /rooms/{roomId}/joined_members</c>, read from the <see cref="RoomMember"/> projection.</summary>
    private static async Task<IResult> JoinedMembers(Caller caller, string roomId, Infrastructure.Sharding.RoomSessions rooms, CancellationToken ct)
    {
        ValidateRoomId(roomId);
        var session = rooms.For(roomId);
        var own = await session.LoadAsync<RoomMember>(RoomMember.IdFor(roomId, caller.UserId), ct);
        if (own?.Membership != Memberships.Join)
            return MatrixHttp.Error(MatrixError.Forbidden($"{caller.UserId} is not joined to room {roomId}"));
        var joined = await session.Query<RoomMember>()
            .Where(m => m.RoomId == roomId && m.Membership == Memberships.Join)
            .ToListAsync(ct);
        var members = new JsonObject();
        foreach (var m in joined.OrderBy(m => m.UserId, StringComparer.Ordinal))
        {
            // From the member event; the schema allows only strings, so an unset one is left out (not null).
            var member = new JsonObject();
            if (m.DisplayName is not null) member["display_name"] = m.DisplayName;
            if (m.AvatarUrl is not null) member["avatar_url"] = m.AvatarUrl;
            members[m.UserId] = member;
        }
        return MatrixHttp.Ok(new JsonObject { ["joined"] = members });
    }

    public static IResult EventIdOrError(RoomCommandResult result) =>
        result.Error is not null ? MatrixHttp.Error(result.Error) : MatrixHttp.Ok(new JsonObject { ["event_id"] = result.EventId });

    public static void ValidateRoomId(string roomId)
    {
        if (!RoomId.IsValid(roomId)) throw new MatrixException(MatrixError.InvalidParam($"Not a valid room ID: {roomId}"));
    }

    private static string TargetUser(JsonObject body)
    {
        var userId = body.RequiredString("user_id");
        return UserId.IsValid(userId) ? userId : throw new MatrixException(MatrixError.InvalidParam($"Not a valid user ID: {userId}"));
    }
}
