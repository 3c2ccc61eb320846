using System.Buffers.Text;
using System.Text;
using System.Text.Json.Nodes;
using Marten;
using Marten.Linq.MatchesSql;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Identifiers;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Host.Infrastructure.Sharding;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Projections.Projections;
using Microsoft.Extensions.Options;
using NodaTime;
using Wolverine;

namespace Matrix.Rooms.Host.Features.RoomDirectory;

/// <summary>
/// A room published in this server's room directory (spec "Published room directory"): the document exists while the
/// room's directory visibility is <c>public</c>. Directory visibility is its own setting, not the room's history
/// visibility or join rule.
/// </summary>
public sealed record PublishedRoom
{
    /// <summary>The room ID.</summary>
    public required string Id { get; init; }
    public required string PublishedBy { get; init; }
    public Instant PublishedAt { get; init; }
}

/// <summary><c>PUT /directory/list/room/{roomId}</c>: <c>public</c> publishes the room, <c>private</c> withdraws it.</summary>
public sealed record SetRoomDirectoryVisibility(string RoomId, bool Public, string Caller);

public static class RoomDirectoryVisibilityHandler
{
    public static void Handle(SetRoomDirectoryVisibility command, IDocumentSession session, IClock clock)
    {
        if (command.Public) session.Store(new PublishedRoom { Id = command.RoomId, PublishedBy = command.Caller, PublishedAt = clock.GetCurrentInstant() });
        else session.Delete<PublishedRoom>(command.RoomId);
    }
}

/// <summary>
/// <c>GET/POST /publicRooms</c> and <c>GET/PUT /directory/list/room/{roomId}</c> (spec list_public_rooms.yaml). A page
/// reads the published rooms (one document each, in room-ID order), then in one batched round trip the state rows
/// each chunk field comes from (<c>room_state</c>) and the joined-member count of each room on the page
/// (<c>room_members</c>): nothing is aggregated from the event stream.
/// </summary>
public static class PublicRoomsEndpoints
{
    /// <summary>Rooms per page when the client gives no <c>limit</c> (and the most a page holds).</summary>
    public const int DefaultLimit = 100;

    private const int MaxLimit = 500;

    /// <summary>Published rooms looked at per step while a search term filters them.</summary>
    private const int ScanBatch = 200;

    public static void MapPublicRooms(this IEndpointRouteBuilder api)
    {
        // No access token needed (spec: "security: []" for GET).
        api.MapGet("/publicRooms", async (HttpContext http, IQuerySession session, IOptions<MatrixRoomsOptions> options, CancellationToken ct) =>
        {
            var query = http.Request.Query;
            CheckServer(query["server"], options.Value.ServerName);
            var limit = query["limit"].ToString() is { Length: > 0 } text
                ? int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var l) && l >= 0
                    ? l
                    : throw new MatrixException(MatrixError.InvalidParam("limit must be a non-negative integer"))
                : (int?)null;
            var since = query["since"].ToString() is { Length: > 0 } s ? s : null;
            return MatrixHttp.Ok(await PageAsync(session, http.RequestServices.GetRequiredService<RoomSessions>(), new DirectoryQuery(limit, since, null, null), ct));
        }).AllowAnonymous();

        api.MapPost("/publicRooms", async (HttpContext http, IQuerySession session, IOptions<MatrixRoomsOptions> options, CancellationToken ct) =>
        {
            CheckServer(http.Request.Query["server"], options.Value.ServerName);
            var body = await http.Request.ReadObjectAsync(ct);
            var limit = body["limit"] switch
            {
                null => (int?)null,
                JsonValue v when v.TryGetValue<long>(out var n) && n >= 0 => (int)Math.Min(n, int.MaxValue),
                _ => throw new MatrixException(MatrixError.BadJson("'limit' must be a non-negative integer")),
            };
            var filter = body.OptionalObject("filter");
            var term = filter?.OptionalString("generic_search_term") is { Length: > 0 } t ? t : null;
            IReadOnlyList<string?>? roomTypes = filter?.OptionalArray("room_types")?.Select(n => n switch
            {
                null => null,
                JsonValue v when v.TryGetValue<string>(out var type) => type,
                _ => throw new MatrixException(MatrixError.BadJson("'room_types' must be an array of strings or nulls")),
            }).ToList();
            // include_all_networks / third_party_instance_id: this server bridges no networks, so every room is "ours".
            return MatrixHttp.Ok(await PageAsync(session, http.RequestServices.GetRequiredService<RoomSessions>(), new DirectoryQuery(limit, body.OptionalString("since"), term, roomTypes), ct));
        }).For(ClientEndpoint.QueryPublicRooms);

        api.MapGet("/directory/list/room/{roomId}", async (HttpContext http, string roomId, IQuerySession session, CancellationToken ct) =>
        {
            RoomEndpoints.ValidateRoomId(roomId);
            var batch = session.CreateBatchQuery();
            var sharded = http.RoomSession(roomId) is var room && !ReferenceEquals(room, session);
            var head = sharded ? room.LoadAsync<RoomHead>(roomId, ct) : batch.Load<RoomHead>(roomId);
            var published = batch.Load<PublishedRoom>(roomId);
            await batch.Execute(ct);
            if (await head is null) return MatrixHttp.Error(MatrixError.NotFound($"Unknown room {roomId}"));
            return MatrixHttp.Ok(new JsonObject { ["visibility"] = await published is null ? "private" : "public" });
        }).AllowAnonymous();

        api.MapPut("/directory/list/room/{roomId}", async (HttpContext http, Caller caller, string roomId, IQuerySession session, IMessageBus bus,
            CancellationToken ct) =>
        {
            RoomEndpoints.ValidateRoomId(roomId);
            var body = await http.Request.ReadObjectAsync(ct);
            var visibility = body.OptionalString("visibility") ?? "public";
            if (visibility is not ("public" or "private"))
                return MatrixHttp.Error(MatrixError.InvalidParam("visibility must be \"public\" or \"private\""));
            if (await http.RoomSession(roomId).LoadAsync<RoomHead>(roomId, ct) is null) return MatrixHttp.Error(MatrixError.NotFound($"Unknown room {roomId}"));
            if (await MayChangeRoomListAsync(http.RoomSession(roomId), roomId, caller.UserId, ct) is { } refused) return MatrixHttp.Error(refused);
            await bus.InvokeAsync(new SetRoomDirectoryVisibility(roomId, visibility == "public", caller.UserId), ct);
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.SetRoomDirectoryVisibility);
    }

    /// <summary>
    /// Who may publish or withdraw a room (the spec: "Servers MAY implement additional access control checks"). As
    /// Synapse's <c>check_can_change_room_list</c>: a member joined to the room whose power level lets them send
    /// <c>m.room.canonical_alias</c> (the creator, while no power levels say otherwise; every creator from v12). This
    /// server has no server administrators on the client API, so Synapse's admin bypass has no counterpart here.
    /// </summary>
    private static async Task<MatrixError?> MayChangeRoomListAsync(IQuerySession session, string roomId, string userId, CancellationToken ct)
    {
        var memberKey = new StateKey(EventTypes.Member, userId);
        var (_, state) = await RoomWriter.LoadAsync(session, roomId, [EventAuth.CreateKey, EventAuth.PowerLevelsKey, memberKey], ct);
        if ((state.Get(memberKey) as MemberEvent)?.Membership != Memberships.Join) return MatrixError.Forbidden($"{userId} is not in the room {roomId}");
        if (state.Get(EventAuth.CreateKey) is not CreateEvent create || RoomVersion.Get(create.RoomVersion) is not { } version)
            return MatrixError.Forbidden($"{roomId} has no usable m.room.create");
        var levels = PowerLevels.Current(state.Get(EventAuth.PowerLevelsKey), create, version);
        var needed = levels.Events.TryGetValue(EventTypes.CanonicalAlias, out var level) ? level : levels.StateDefault;
        return levels.UserLevel(userId) >= needed
            ? null
            : MatrixError.Forbidden($"Changing the directory visibility of {roomId} needs the power to send {EventTypes.CanonicalAlias} ({needed}); {userId} has {levels.UserLevel(userId)}");
    }

    /// <summary>
    /// <c>server</c> names the directory to list. Only this server's exists here: with no federation, another server's
    /// directory cannot be fetched, and the answer is Synapse's when the remote fails to answer
    /// (<c>502 M_UNKNOWN</c> "Failed to fetch room list"); a value that is no server name is <c>400 M_INVALID_PARAM</c>.
    /// </summary>
    private static void CheckServer(string? server, string ours)
    {
        if (string.IsNullOrEmpty(server) || server == ours) return;
        if (!ServerName.IsValid(server)) throw new MatrixException(MatrixError.InvalidParam($"Not a valid server name: {server}"));
        throw new MatrixException(MatrixError.Unknown(502, $"Failed to fetch room list: {server} cannot be reached from this server (no federation)"));
    }

    private sealed record DirectoryQuery(int? Limit, string? Since, string? SearchTerm, IReadOnlyList<string?>? RoomTypes)
    {
        public bool Filters => SearchTerm is not null || RoomTypes is not null;
    }

    /// <summary>A page token: the direction and the room ID the page starts after (forward) or ends before (backward).</summary>
    private readonly record struct PageToken(bool Forward, string RoomId)
    {
        public override string ToString() =>
            (Forward ? "n" : "p") + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(RoomId));

        public static PageToken Parse(string token)
        {
            if (token.Length > 1 && token[0] is 'n' or 'p')
            {
                try
                {
                    var roomId = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.AsSpan(1)));
                    if (roomId.StartsWith('!')) return new PageToken(token[0] == 'n', roomId);
                }
                catch (FormatException)
                {
                }
            }
            throw new MatrixException(MatrixError.InvalidParam($"Unknown pagination token: {token}"));
        }
    }

    private static readonly string[] ChunkStateTypes =
    [
        EventTypes.Create, EventTypes.Name, EventTypes.Topic, "m.room.avatar", EventTypes.CanonicalAlias, EventTypes.JoinRules,
        EventTypes.HistoryVisibility, EventTypes.GuestAccess,
    ];

    /// <summary>
    /// One page in room-ID order (a stable order, which the spec recommends since v1.19; Synapse orders by joined
    /// members, largest first). <c>next_batch</c> is there when rooms follow, <c>prev_batch</c> when rooms come before.
    /// </summary>
    private static async Task<JsonObject> PageAsync(IQuerySession session, RoomSessions rooms, DirectoryQuery query, CancellationToken ct)
    {
        var limit = Math.Min(query.Limit ?? DefaultLimit, MaxLimit);
        var token = query.Since is null ? (PageToken?)null : PageToken.Parse(query.Since);
        var forward = token?.Forward ?? true;
        var total = await session.Query<PublishedRoom>().CountAsync(ct);

        // Rooms in the direction of travel, one more than the page to know whether more follow.
        var found = new List<(string RoomId, Dictionary<string, MatrixEvent> State)>();
        var cursor = token?.RoomId;
        while (found.Count <= limit)
        {
            var take = query.Filters ? ScanBatch : limit + 1 - found.Count;
            var ids = await NextRoomsAsync(session, forward, cursor, take, ct);
            if (ids.Count == 0) break;
            cursor = ids[^1];
            var states = await StateAsync(rooms, ids, ct);
            foreach (var id in ids)
            {
                var state = states.GetValueOrDefault(id) ?? [];
                if (Matches(query, state)) found.Add((id, state));
                if (found.Count > limit) break;
            }
            if (ids.Count < take) break;
        }
        var more = found.Count > limit;
        var page = found.Take(limit).ToList();
        if (!forward) page.Reverse();

        // num_joined_members: one projected row per room (RoomMemberCounts), read from each room's shard.
        var counts = new Dictionary<string, RoomMemberCounts>(StringComparer.Ordinal);
        foreach (var shard in page.GroupBy(p => rooms.Shards.ShardOf(p.RoomId)))
            foreach (var (roomId, count) in await RoomMemberCountReader.LoadAsync(rooms.ForShard(shard.Key), shard.Select(p => p.RoomId).ToList(), ct))
                counts[roomId] = count;

        var chunk = new JsonArray();
        for (var i = 0; i < page.Count; i++) chunk.Add(Chunk(page[i].RoomId, page[i].State, counts[page[i].RoomId].Joined));

        var answer = new JsonObject { ["chunk"] = chunk, ["total_room_count_estimate"] = total };
        if (page.Count > 0)
        {
            // Forward: more after this page → next; a token was given → something before. Backward: the mirror image.
            var (hasNext, hasPrev) = forward ? (more, token is not null) : (true, more);
            if (hasNext) answer["next_batch"] = new PageToken(true, page[^1].RoomId).ToString();
            if (hasPrev) answer["prev_batch"] = new PageToken(false, page[0].RoomId).ToString();
        }
        return answer;
    }

    private static async Task<IReadOnlyList<string>> NextRoomsAsync(IQuerySession session, bool forward, string? cursor, int take, CancellationToken ct)
    {
        var rooms = session.Query<PublishedRoom>().AsQueryable();
        if (cursor is not null)
            rooms = rooms.Where(r => r.MatchesSql(forward ? "d.id > ?" : "d.id < ?", cursor));
        rooms = forward ? rooms.OrderBy(r => r.Id) : rooms.OrderByDescending(r => r.Id);
        return await rooms.Take(take).Select(r => r.Id).ToListAsync(ct);
    }

    /// <summary>The chunk's state rows of <paramref name="roomIds"/>, by room and type: one round trip.</summary>
    private static async Task<Dictionary<string, Dictionary<string, MatrixEvent>>> StateAsync(RoomSessions rooms, IReadOnlyList<string> roomIds,
        CancellationToken ct)
    {
        var rows = new List<RoomStateEntry>();
        foreach (var shard in roomIds.GroupBy(rooms.Shards.ShardOf))
            rows.AddRange(await rooms.ForShard(shard.Key).LoadManyAsync<RoomStateEntry>(ct,
                shard.SelectMany(r => ChunkStateTypes.Select(t => RoomStateEntry.IdFor(r, t, ""))).ToArray()));
        return rows.GroupBy(r => r.RoomId).ToDictionary(g => g.Key, g => g.ToDictionary(r => r.Type, r => r.Event));
    }

    /// <summary>The filter: <c>generic_search_term</c> in the name, topic or canonical alias (case-insensitive, as
    /// Synapse), and <c>room_types</c> (<c>null</c> in the list: rooms without a type).</summary>
    private static bool Matches(DirectoryQuery query, Dictionary<string, MatrixEvent> state)
    {
        if (query.RoomTypes is { } types && !types.Contains(RoomType(state))) return false;
        if (query.SearchTerm is not { } term) return true;
        return new[] { Text(state, EventTypes.Name, "name"), Topic(state), Text(state, EventTypes.CanonicalAlias, "alias") }
            .Any(v => v?.Contains(term, StringComparison.OrdinalIgnoreCase) == true);
    }

    private static JsonObject Chunk(string roomId, Dictionary<string, MatrixEvent> state, long joined)
    {
        var chunk = new JsonObject
        {
            ["room_id"] = roomId,
            ["num_joined_members"] = joined,
            ["world_readable"] = Text(state, EventTypes.HistoryVisibility, "history_visibility") == "world_readable",
            ["guest_can_join"] = GuestAccessValues.AllowsGuestsToJoin(Text(state, EventTypes.GuestAccess, "guest_access")),
            // Spec: "When not present, the room is assumed to be public"; sent whenever the room has a join rule.
            ["join_rule"] = Text(state, EventTypes.JoinRules, "join_rule") ?? "public",
        };
        if (Text(state, EventTypes.Name, "name") is { Length: > 0 } name) chunk["name"] = name;
        if (Topic(state) is { Length: > 0 } topic) chunk["topic"] = topic;
        if (Text(state, "m.room.avatar", "url") is { Length: > 0 } avatar && avatar.StartsWith("mxc://", StringComparison.Ordinal)) chunk["avatar_url"] = avatar;
        if (Text(state, EventTypes.CanonicalAlias, "alias") is { } alias && RoomAlias.IsValid(alias)) chunk["canonical_alias"] = alias;
        if (RoomType(state) is { } type) chunk["room_type"] = type;
        return chunk;
    }

    private static string? Text(Dictionary<string, MatrixEvent> state, string type, string field) =>
        state.TryGetValue(type, out var ev) ? ev.ContentString(field) : null;

    /// <summary>The plain-text topic: <c>topic</c>, else the <c>text/plain</c> entry of <c>m.topic</c> (spec: omitted if none).</summary>
    private static string? Topic(Dictionary<string, MatrixEvent> state)
    {
        if (!state.TryGetValue(EventTypes.Topic, out var ev)) return null;
        if (ev.ContentString("topic") is { } topic) return topic;
        if (ev.Content["m.topic"] is JsonObject rich && rich["m.text"] is JsonArray texts)
            foreach (var text in texts.OfType<JsonObject>())
                if (StringOf(text["mimetype"]) is null or "text/plain" && StringOf(text["body"]) is { } body)
                    return body;
        return null;
    }

    private static string? StringOf(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string? RoomType(Dictionary<string, MatrixEvent> state) => Text(state, EventTypes.Create, "type");
}
