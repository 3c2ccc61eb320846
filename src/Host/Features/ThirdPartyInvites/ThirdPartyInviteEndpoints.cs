using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Features.OpenId;
using Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Host.Infrastructure.Sharding;
using Matrix.Rooms.Projections.Documents;
using NodaTime;
using Wolverine;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites;

/// <summary>A bind the homeserver asked an identity server for (client-server API: "Homeservers should track successful binds").</summary>
public sealed record AccountThreepidBinding
{
    public required string Id { get; init; }
    public required string UserId { get; init; }
    public required string Medium { get; init; }
    public required string Address { get; init; }
    public required string IdServer { get; init; }
    public Instant BoundAt { get; init; }

    public static string IdFor(string userId, string medium, string address) => $"{userId}|{medium}|{address}";
}

/// <summary>
/// The HTTP surface of third-party invites: the 3PID form of <c>/invite</c> and <c>invite_3pid</c> of
/// <c>/createRoom</c> (parsed here, routed by the room endpoints), <c>POST /account/3pid/bind</c>, the
/// server-server <c>/3pid/onbind</c> and <c>/exchange_third_party_invite/{roomId}</c>, and two endpoints of this
/// server's own (under <see cref="UnstablePrefix"/>, as the spec asks of non-spec endpoints): the room's third-party
/// invites, and revoking one.
/// </summary>
public static class ThirdPartyInviteEndpoints
{
    public const string UnstablePrefix = "/_matrix/client/unstable/net.matrix_rooms";
    public const string SeedPrefix = "/_matrix/client/api/v1";

    /// <summary>True when an <c>/invite</c> body is the third-party form (no <c>user_id</c>; <c>medium</c>, <c>address</c> or <c>id_server</c>).</summary>
    public static bool IsThirdPartyForm(JsonObject body) =>
        body["user_id"] is null && (body.ContainsKey("medium") || body.ContainsKey("address") || body.ContainsKey("id_server"));

    /// <summary>
    /// The 3PID form of <c>/invite</c>. Required: <c>id_server</c>, <c>medium</c>, <c>address</c>, and
    /// <c>id_access_token</c> (v3/r0) or <c>display_name</c> (the seed's <c>/_matrix/client/api/v1</c> form).
    /// </summary>
    public static InviteByThirdPartyId ParseInvite(HttpContext http, string roomId, string sender, JsonObject body) =>
        ParseInvite(roomId, sender, body, seedForm: http.Request.Path.StartsWithSegments(SeedPrefix));

    public static InviteByThirdPartyId ParseInvite(string roomId, string sender, JsonObject body, bool seedForm)
    {
        var idServer = body.RequiredString("id_server");
        var medium = body.RequiredString("medium");
        var address = body.RequiredString("address");
        var idAccessToken = body.OptionalString("id_access_token");
        var displayName = body.OptionalString("display_name");
        if (seedForm && displayName is null) throw new MatrixException(MatrixError.MissingParam("display_name"));
        if (!seedForm && idAccessToken is null) throw new MatrixException(MatrixError.MissingParam("id_access_token"));
        return new InviteByThirdPartyId
        {
            RoomId = roomId, Sender = sender, IdServer = idServer, IdAccessToken = idAccessToken, Medium = medium, Address = address,
            DisplayName = displayName,
        };
    }

    /// <summary>
    /// <c>createRoom</c>'s <c>invite_3pid</c>, checked before the room is created (fields, medium, address, trusted
    /// <c>id_server</c>) so that a bad entry creates nothing.
    /// </summary>
    public static IReadOnlyList<InviteByThirdPartyId> ParseInvite3Pid(HttpContext http, JsonObject body, string sender)
    {
        if (body.OptionalArray("invite_3pid") is not { } entries) return [];
        var servers = http.RequestServices.GetRequiredService<IdentityServers>();
        var invites = new List<InviteByThirdPartyId>(entries.Count);
        foreach (var node in entries)
        {
            if (node is not JsonObject entry) throw new MatrixException(MatrixError.BadJson("invite_3pid entries must be objects"));
            var invite = ParseInvite("", sender, entry, seedForm: false);
            if (ThirdPartyInviteDecider.Validate(invite).Error is { } invalid) throw new MatrixException(invalid);
            if (servers.Resolve(invite.IdServer).Error is { } untrusted) throw new MatrixException(untrusted);
            invites.Add(invite);
        }
        return invites;
    }

    /// <summary>Sends each <c>invite_3pid</c> invite for the new room, in order; the first refusal is returned (as Synapse, the room stays).</summary>
    public static async Task<MatrixError?> InviteAllAsync(IMessageBus bus, RoomShards shards, IReadOnlyList<InviteByThirdPartyId> invites, string roomId,
        CancellationToken ct)
    {
        foreach (var invite in invites)
        {
            var result = await shards.InvokeAsync<RoomCommandResult>(bus, invite with { RoomId = roomId }, ct);
            if (result.Error is not null) return result.Error;
        }
        return null;
    }

    /// <summary>Client-server endpoints, mapped under each client prefix.</summary>
    public static void MapThirdPartyInviteClientApi(this IEndpointRouteBuilder api)
    {
        api.MapPost("/account/3pid/bind", BindAsync);
        api.MapOpenIdRequestToken();
    }

    public static void MapThirdPartyInviteServerApi(this IEndpointRouteBuilder app)
    {
        var unstable = app.MapGroup(UnstablePrefix).RequireMatrixCaller();
        unstable.MapGet("/rooms/{roomId}/third_party_invites", ListAsync);
        unstable.MapPost("/rooms/{roomId}/third_party_invites/{token}/revoke", RevokeAsync);

        app.MapMethods("/_matrix/federation/v1/3pid/onbind", ["PUT", "POST"], async (HttpContext http, OnBindProcessor receiver,
            CancellationToken ct) =>
        {
            var error = await receiver.OnBindAsync(await http.Request.ReadObjectAsync(ct), ct);
            return error is null ? MatrixHttp.Ok(new JsonObject()) : MatrixHttp.Error(error);
        });
        app.MapPut("/_matrix/federation/v1/exchange_third_party_invite/{roomId}", ExchangeAsync);
        app.MapOpenIdUserInfo();
    }

    /// <summary>
    /// <c>POST /account/3pid/bind</c> (<c>client_secret</c>, <c>id_server</c>, <c>id_access_token</c>, <c>sid</c>): asks
    /// the trusted identity server to bind the validated address to the caller; the identity server then notifies this
    /// homeserver (<c>/3pid/onbind</c>) and pending invites are exchanged. The identity server's errors are passed on.
    /// </summary>
    private static async Task<IResult> BindAsync(HttpContext http, Caller caller, IdentityServers servers, IMessageBus bus, CancellationToken ct)
    {
        var body = await http.Request.ReadObjectAsync(ct);
        var clientSecret = body.RequiredString("client_secret");
        var idServer = body.RequiredString("id_server");
        var idAccessToken = body.RequiredString("id_access_token");
        var sid = body.RequiredString("sid");
        var server = servers.Resolve(idServer);
        if (!server.IsSuccess) return MatrixHttp.Error(server.Error!);

        JsonObject association;
        try
        {
            association = await server.Value.BindAsync(idAccessToken, sid, clientSecret, caller.UserId, ct);
        }
        catch (IdentityServerException e)
        {
            return MatrixHttp.Error(e.ToClientError());
        }
        if (association["medium"] is JsonValue m && m.TryGetValue<string>(out var medium)
            && association["address"] is JsonValue a && a.TryGetValue<string>(out var address))
            await bus.InvokeAsync(new RecordThreepidBinding(caller.UserId, medium, address, idServer), ct);
        return MatrixHttp.Ok(new JsonObject());
    }

    /// <summary>
    /// <c>PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}</c>: a partial <c>m.room.member</c> invite
    /// with <c>third_party_invite.signed</c>, exchanged as on bind.
    /// </summary>
    private static async Task<IResult> ExchangeAsync(HttpContext http, string roomId, IMessageBus bus, CancellationToken ct)
    {
        var body = await http.Request.ReadObjectAsync(ct);
        if (body.RequiredString("type") != EventTypes.Member) return MatrixHttp.Error(MatrixError.InvalidParam("type must be m.room.member"));
        if (body.RequiredString("room_id") != roomId) return MatrixHttp.Error(MatrixError.InvalidParam("room_id must match the path"));
        var content = body.OptionalObject("content") ?? throw new MatrixException(MatrixError.MissingParam("content"));
        if (content.RequiredString("membership") != Memberships.Invite)
            return MatrixHttp.Error(MatrixError.InvalidParam("content.membership must be invite"));
        var signed = content.OptionalObject("third_party_invite")?.OptionalObject("signed")
                     ?? throw new MatrixException(MatrixError.MissingParam("content.third_party_invite.signed"));
        var result = await http.RequestServices.GetRequiredService<RoomShards>().InvokeAsync<RoomCommandResult>(bus, new ExchangeThirdPartyInvite
        {
            RoomId = roomId, Sender = body.RequiredString("sender"), Mxid = body.RequiredString("state_key"),
            Signed = (JsonObject)signed.DeepClone(),
        }, ct);
        return result.Error is null ? MatrixHttp.Ok(new JsonObject()) : MatrixHttp.Error(result.Error);
    }

    /// <summary>The room's third-party invites (joined members only): token, inviter, display name, status, and the membership each became.</summary>
    private static async Task<IResult> ListAsync(Caller caller, string roomId, RoomSessions rooms, CancellationToken ct)
    {
        RoomEndpoints.ValidateRoomId(roomId);
        var session = rooms.For(roomId);
        var own = await session.LoadAsync<RoomMember>(RoomMember.IdFor(roomId, caller.UserId), ct);
        if (own?.Membership != Memberships.Join)
            return MatrixHttp.Error(MatrixError.Forbidden($"{caller.UserId} is not joined to room {roomId}"));
        var invites = ThirdPartyInvite.Ordered(await session.Query<ThirdPartyInvite>().Where(i => i.RoomId == roomId).ToListAsync(ct));
        var invitees = invites.Where(i => i.InviteeUserId is not null).Select(i => RoomMember.IdFor(roomId, i.InviteeUserId!)).ToArray();
        var members = invitees.Length == 0
            ? new Dictionary<string, RoomMember>()
            : (await session.LoadManyAsync<RoomMember>(ct, invitees)).ToDictionary(m => m.UserId);
        var list = new JsonArray();
        foreach (var invite in invites)
        {
            var item = new JsonObject
            {
                ["token"] = invite.Token, ["inviter"] = invite.Inviter, ["display_name"] = invite.DisplayName,
                ["status"] = invite.Status, ["invite_event_id"] = invite.InviteEventId,
                ["invited_at"] = invite.InvitedAt?.ToUnixTimeMilliseconds(),
            };
            if (invite.InviteeUserId is { } invitee)
            {
                item["user_id"] = invitee;
                item["member_event_id"] = invite.MemberEventId;
                item["membership"] = members.TryGetValue(invitee, out var member) ? member.Membership : null;
            }
            list.Add(item);
        }
        return MatrixHttp.Ok(new JsonObject { ["third_party_invites"] = list });
    }

    private static async Task<IResult> RevokeAsync(HttpContext http, Caller caller, string roomId, string token, IMessageBus bus, CancellationToken ct)
    {
        RoomEndpoints.ValidateRoomId(roomId);
        await http.Request.ReadObjectAsync(ct);
        var result = await http.RequestServices.GetRequiredService<RoomShards>().InvokeAsync<RoomCommandResult>(bus, new RevokeThirdPartyInvite { RoomId = roomId, Sender = caller.UserId, Token = token }, ct);
        return RoomEndpoints.EventIdOrError(result);
    }
}
