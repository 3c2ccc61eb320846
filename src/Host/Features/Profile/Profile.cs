using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Client;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Projections.Documents;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Profile;

/// <summary>A local user's global profile (a document per user; rooms hold their own copy in the member events).</summary>
public sealed record UserProfile
{
    /// <summary>The user ID.</summary>
    public required string Id { get; init; }
    public string? DisplayName { get; init; }
    public string? AvatarUrl { get; init; }
}

/// <summary>Set (or with a null value, remove) <c>displayname</c> or <c>avatar_url</c>.</summary>
public sealed record SetProfileField(string UserId, string Field, string? Value);

public static class SetProfileFieldHandler
{
    /// <returns>The profile as stored.</returns>
    public static async Task<UserProfile> Handle(SetProfileField command, IDocumentSession session, CancellationToken ct)
    {
        var profile = await session.LoadAsync<UserProfile>(command.UserId, ct) ?? new UserProfile { Id = command.UserId };
        profile = command.Field == ProfileEndpoints.DisplayName
            ? profile with { DisplayName = command.Value }
            : profile with { AvatarUrl = command.Value };
        session.Store(profile);
        return profile;
    }
}

/// <summary>
/// <c>GET /profile/{userId}</c>, <c>GET/PUT/DELETE /profile/{userId}/displayname</c> and <c>…/avatar_url</c> (spec
/// profile.yaml). Reads need no token (as Synapse by default). A change is stored, then, as servers do, sent to every
/// room the user is joined to as a new <c>m.room.member</c> join event with the new profile, through the room
/// command path (<see cref="SetRoomState"/>), so each room's rules decide it like any other.
/// </summary>
public static class ProfileEndpoints
{
    public const string DisplayName = "displayname";
    public const string AvatarUrl = "avatar_url";

    /// <summary>Synapse's limits: a longer value is refused, nothing stored.</summary>
    private static readonly Dictionary<string, int> MaxLength = new() { [DisplayName] = 256, [AvatarUrl] = 1000 };

    public static void MapProfile(this IEndpointRouteBuilder api)
    {
        api.MapGet("/profile/{userId}", async (string userId, IQuerySession session, CancellationToken ct) =>
        {
            var profile = await ProfileOfAsync(session, userId, ct);
            var body = new JsonObject();
            if (profile.DisplayName is not null) body[DisplayName] = profile.DisplayName;
            if (profile.AvatarUrl is not null) body[AvatarUrl] = profile.AvatarUrl;
            return MatrixHttp.Ok(body);
        }).AllowAnonymous();

        foreach (var field in new[] { DisplayName, AvatarUrl })
        {
            api.MapGet($"/profile/{{userId}}/{field}", async (string userId, IQuerySession session, CancellationToken ct) =>
            {
                var profile = await ProfileOfAsync(session, userId, ct);
                var value = field == DisplayName ? profile.DisplayName : profile.AvatarUrl;
                return value is null
                    ? MatrixHttp.Error(MatrixError.NotFound($"{userId} has no {field}"))
                    : MatrixHttp.Ok(new JsonObject { [field] = value });
            }).AllowAnonymous();

            // Guests may set their display name only (spec guest list: PUT /profile/{userId}/displayname).
            api.MapPut($"/profile/{{userId}}/{field}", async (HttpContext http, Caller caller, string userId, IMessageBus bus, Infrastructure.Sharding.RoomSessions session,
                CancellationToken ct) =>
            {
                var body = await http.Request.ReadObjectAsync(ct);
                var value = body[field] switch
                {
                    null => throw new MatrixException(MatrixError.MissingParam(field)),
                    JsonValue v when v.TryGetValue<string>(out var s) => s,
                    _ => throw new MatrixException(MatrixError.BadJson($"'{field}' must be a string")),
                };
                if (value.Length > MaxLength[field])
                    throw new MatrixException(MatrixError.InvalidParam($"'{field}' is longer than {MaxLength[field]} characters"));
                if (field == AvatarUrl && value.Length > 0 && !value.StartsWith("mxc://", StringComparison.Ordinal))
                    throw new MatrixException(MatrixError.InvalidParam("'avatar_url' must be an mxc:// URI"));
                return await ChangeAsync(caller, userId, field, value.Length == 0 ? null : value, bus, session, ct);
            }).For(field == DisplayName ? ClientEndpoint.SetDisplayName : ClientEndpoint.SetAvatarUrl);

            api.MapDelete($"/profile/{{userId}}/{field}", (Caller caller, string userId, IMessageBus bus, Infrastructure.Sharding.RoomSessions session, CancellationToken ct) =>
                ChangeAsync(caller, userId, field, null, bus, session, ct)).For(ClientEndpoint.DeleteProfileField);
        }
    }

    private static async Task<UserProfile> ProfileOfAsync(IQuerySession session, string userId, CancellationToken ct)
    {
        var batch = session.CreateBatchQuery();
        var account = batch.Load<Account>(userId);
        var profile = batch.Load<UserProfile>(userId);
        await batch.Execute(ct);
        if (await account is null) throw new MatrixException(MatrixError.NotFound("Profile not found"));
        return await profile ?? new UserProfile { Id = userId };
    }

    private static async Task<IResult> ChangeAsync(Caller caller, string userId, string field, string? value, IMessageBus bus, Infrastructure.Sharding.RoomSessions session,
        CancellationToken ct)
    {
        if (userId != caller.UserId) return MatrixHttp.Error(MatrixError.Forbidden($"{caller.UserId} cannot change the profile of {userId}"));
        var profile = await bus.InvokeAsync<UserProfile>(new SetProfileField(userId, field, value), ct);
        await UpdateMemberEventsAsync(caller, profile, bus, session, ct);
        return MatrixHttp.Ok(new JsonObject());
    }

    /// <summary>
    /// One new join event per joined room, the current member content with the new <c>displayname</c>/<c>avatar_url</c>.
    /// A room that refuses it (its rules decide) keeps the old one; the global profile is changed all the same.
    /// </summary>
    private static async Task UpdateMemberEventsAsync(Caller caller, UserProfile profile, IMessageBus bus, Infrastructure.Sharding.RoomSessions sessions, CancellationToken ct)
    {
        var rooms = await JoinedRoomsEndpoint.JoinedRoomIdsAsync(sessions, caller.UserId, ct);
        if (rooms.Count == 0) return;
        var current = new Dictionary<string, JsonObject>();
        foreach (var shard in rooms.GroupBy(sessions.Shards.ShardOf))
            foreach (var e in await sessions.ForShard(shard.Key).LoadManyAsync<RoomStateEntry>(ct, shard.Select(r => RoomStateEntry.IdFor(r, EventTypes.Member, caller.UserId))))
                current[e.RoomId] = e.Event.Content;
        foreach (var roomId in rooms)
        {
            var content = current.TryGetValue(roomId, out var existing) ? (JsonObject)existing.DeepClone() : new JsonObject();
            content["membership"] = Memberships.Join;
            content.Remove(DisplayName);
            content.Remove(AvatarUrl);
            content.Remove("reason");
            if (profile.DisplayName is not null) content[DisplayName] = profile.DisplayName;
            if (profile.AvatarUrl is not null) content[AvatarUrl] = profile.AvatarUrl;
            await sessions.Shards.InvokeAsync<RoomCommandResult>(bus, new SetRoomState
            {
                RoomId = roomId, Sender = caller.UserId, SenderIsGuest = caller.IsGuest, EventType = EventTypes.Member, StateKey = caller.UserId,
                Content = content,
            }, ct);
        }
    }
}
