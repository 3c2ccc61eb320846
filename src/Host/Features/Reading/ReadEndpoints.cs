using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Visibility;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Features.Sync;
using Matrix.Rooms.Host.Infrastructure.Http;

namespace Matrix.Rooms.Host.Features.Reading;

/// <summary>
/// The room reads (spec client-server API → "Getting events for a room", "Room membership", "Room previews"), every
/// one filtered by the history-visibility rules for the caller.
/// </summary>
public static class ReadEndpoints
{
    /// <summary>How many events one request may scan while skipping invisible ones, so a page costs bounded work.</summary>
    private const int ScanBudgetPerRequest = 2_000;

    public static void MapRoomReads(this IEndpointRouteBuilder api)
    {
        api.MapGet("/rooms/{roomId}/messages", Messages).For(ClientEndpoint.GetRoomMessages);
        api.MapGet("/rooms/{roomId}/event/{eventId}", Event).For(ClientEndpoint.GetRoomEvent);
        api.MapGet("/rooms/{roomId}/context/{eventId}", Context).For(ClientEndpoint.GetRoomContext);
        api.MapGet("/rooms/{roomId}/state", State).For(ClientEndpoint.GetRoomState);
        api.MapGet("/rooms/{roomId}/state/{eventType}/{stateKey}", (HttpContext http, Caller caller, string roomId, string eventType, string stateKey,
            RoomReader reader, CancellationToken ct) => StateEvent(http, caller, roomId, eventType, stateKey, reader, ct)).For(ClientEndpoint.GetRoomStateEvent);
        api.MapGet("/rooms/{roomId}/state/{eventType}", (HttpContext http, Caller caller, string roomId, string eventType,
            RoomReader reader, CancellationToken ct) => StateEvent(http, caller, roomId, eventType, "", reader, ct)).For(ClientEndpoint.GetRoomStateEvent);
        api.MapGet("/rooms/{roomId}/members", Members).For(ClientEndpoint.GetRoomMembers);
        api.MapGet("/rooms/{roomId}/initialSync", InitialSync).For(ClientEndpoint.GetRoomInitialSync);
        api.MapGet("/events", Events).For(ClientEndpoint.GetEvents);
    }

    private static async Task<RoomViewer> ViewerAsync(Caller caller, string roomId, RoomReader reader, CancellationToken ct)
    {
        RoomEndpoints.ValidateRoomId(roomId);
        return await reader.ViewerAsync(roomId, caller, ct);
    }

    private static async Task<IResult> Messages(HttpContext http, Caller caller, string roomId, RoomReader reader, CancellationToken ct)
    {
        var viewer = await ViewerAsync(caller, roomId, reader, ct);
        var query = http.Request.Query;
        var dir = query["dir"].ToString() switch
        {
            "" or "b" => 'b',
            "f" => 'f',
            var d => throw new MatrixException(MatrixError.InvalidParam($"dir must be 'b' or 'f', not '{d}'")),
        };
        var filter = RoomEventFilter(http);
        var limit = ParseLimit(query["limit"].ToString(), filter.Limit ?? 10);
        var from = StreamToken.Parse(query["from"], "from") ?? (dir == 'b' ? viewer.Head : 0);
        var to = StreamToken.Parse(query["to"], "to");
        var (chunk, end) = await PageAsync(reader, viewer, from, to, dir, limit, ct, filter);
        var annotations = await reader.AnnotationsAsync(caller, chunk.Select(e => e.Event), ct);
        var response = new JsonObject { ["start"] = StreamToken.Format(from), ["chunk"] = chunk.Select(e => e.Event).ToClientJson(annotations) };
        if (end is not null) response["end"] = StreamToken.Format(end.Value);
        if (filter.LazyLoadMembers)
            response["state"] = await SenderMembersAsync(reader, viewer, chunk.Select(e => e.Event), ct);
        return MatrixHttp.Ok(response);
    }

    /// <summary>
    /// One page: events after (dir f) or up to (dir b) the boundary <paramref name="from"/>, visible to the viewer, at
    /// most <paramref name="limit"/>. Returns the boundary to continue from, or null when there is nothing further.
    /// </summary>
    internal static async Task<(List<(long Position, MatrixEvent Event)> Chunk, long? End)> PageAsync(RoomReader reader, RoomViewer viewer,
        long from, long? to, char dir, int limit, CancellationToken ct, EventFilter? filter = null)
    {
        var chunk = new List<(long, MatrixEvent)>();
        var batch = Math.Min(Math.Max(limit * 2, 50), 500);
        var scanned = 0;
        var cursor = Math.Min(from, viewer.Head);
        if (dir == 'b')
        {
            var floor = to ?? 0;
            while (cursor > floor && chunk.Count < limit && scanned < ScanBudgetPerRequest)
            {
                var events = await reader.EventsAsync(viewer.RoomId, Math.Max(floor + 1, cursor - batch + 1), cursor, ct);
                foreach (var (position, ev) in events.Reverse())
                {
                    cursor = position - 1;
                    scanned++;
                    if (viewer.CanSee(position, ev) && (filter?.Allows(ev) ?? true)) chunk.Add((position, ev));
                    if (chunk.Count == limit) break;
                }
                if (events.Count == 0) break;
            }
            return (chunk, cursor > floor ? cursor : null);
        }

        var ceiling = Math.Min(to ?? viewer.Head, viewer.Head);
        cursor = from;
        while (cursor < ceiling && chunk.Count < limit && scanned < ScanBudgetPerRequest)
        {
            var events = await reader.EventsAsync(viewer.RoomId, cursor + 1, Math.Min(ceiling, cursor + batch), ct);
            foreach (var (position, ev) in events)
            {
                cursor = position;
                scanned++;
                if (viewer.CanSee(position, ev) && (filter?.Allows(ev) ?? true)) chunk.Add((position, ev));
                if (chunk.Count == limit) break;
            }
            if (events.Count == 0) break;
        }
        return (chunk, cursor < ceiling || chunk.Count > 0 ? cursor : null);
    }

    private static async Task<IResult> Event(Caller caller, string roomId, string eventId, RoomReader reader, CancellationToken ct)
    {
        var viewer = await ViewerAsync(caller, roomId, reader, ct);
        var found = await reader.EventAsync(roomId, eventId, ct);
        // An event the user may not see is answered exactly like one that does not exist.
        return found is { } e && viewer.CanSee(e.Position, e.Event)
            ? MatrixHttp.Ok(e.Event.ToClientJson(await reader.AnnotationsAsync(caller, [e.Event], ct)))
            : MatrixHttp.Error(MatrixError.NotFound("Event not found"));
    }

    private static async Task<IResult> Context(HttpContext http, Caller caller, string roomId, string eventId, RoomReader reader, CancellationToken ct)
    {
        var viewer = await ViewerAsync(caller, roomId, reader, ct);
        var found = await reader.EventAsync(roomId, eventId, ct);
        if (found is not { } e || !viewer.CanSee(e.Position, e.Event)) return MatrixHttp.Error(MatrixError.NotFound("Event not found"));
        var filter = RoomEventFilter(http);
        var limit = ParseLimit(http.Request.Query["limit"].ToString(), filter.Limit ?? 10);
        var (before, start) = await PageAsync(reader, viewer, e.Position - 1, null, 'b', limit / 2, ct, filter);
        var (after, end) = await PageAsync(reader, viewer, e.Position, null, 'f', limit - limit / 2, ct, filter);
        var annotations = await reader.AnnotationsAsync(caller, before.Concat(after).Select(x => x.Event).Append(e.Event), ct);
        return MatrixHttp.Ok(new JsonObject
        {
            ["event"] = e.Event.ToClientJson(annotations),
            ["events_before"] = before.Select(x => x.Event).ToClientJson(annotations),
            ["events_after"] = after.Select(x => x.Event).ToClientJson(annotations),
            ["start"] = StreamToken.Format(start ?? 0),
            ["end"] = StreamToken.Format(end ?? e.Position),
            ["state"] = filter.LazyLoadMembers
                ? await SenderMembersAsync(reader, viewer, before.Concat(after).Select(x => x.Event).Append(e.Event), ct)
                : await StateJsonAsync(reader, caller, roomId, viewer, ct),
        });
    }

    /// <summary>The <c>filter</c> query parameter of /messages and /context: a RoomEventFilter as JSON (not a filter ID).</summary>
    private static EventFilter RoomEventFilter(HttpContext http) =>
        http.Request.Query["filter"].ToString() is { Length: > 0 } text ? EventFilter.Parse(SyncFilter.ParseInline(text), "filter") : EventFilter.All;

    /// <summary>Lazy-loading members: the member events (in the state the viewer sees) of the given events' senders.</summary>
    private static async Task<JsonArray> SenderMembersAsync(RoomReader reader, RoomViewer viewer, IEnumerable<MatrixEvent> events, CancellationToken ct)
    {
        var senders = events.Select(e => e.Sender).ToHashSet(StringComparer.Ordinal);
        var members = await reader.MemberEventsAsync(viewer.RoomId, senders, viewer.StatePosition, ct);
        return members.ToClientJson(await reader.AnnotationsAsync(viewer.Caller, members, ct));
    }

    private static async Task<IResult> State(Caller caller, string roomId, RoomReader reader, CancellationToken ct)
    {
        var viewer = await ViewerAsync(caller, roomId, reader, ct);
        return Results.Text((await StateJsonAsync(reader, caller, roomId, viewer, ct)).ToJsonString(), "application/json");
    }

    private static async Task<IResult> StateEvent(HttpContext http, Caller caller, string roomId, string eventType, string stateKey, RoomReader reader,
        CancellationToken ct)
    {
        var viewer = await ViewerAsync(caller, roomId, reader, ct);
        var ev = await reader.StateEventAsync(roomId, new StateKey(eventType, stateKey), viewer.StatePosition, ct);
        if (ev is null) return MatrixHttp.Error(MatrixError.NotFound($"No {eventType} state with key '{stateKey}' in the room"));
        // A redacted state event is served redacted, its content too (the room_state row keeps the event as sent).
        var annotations = await reader.AnnotationsAsync(caller, [ev], ct);
        var content = annotations.Redactions.TryGetValue(ev.EventId, out var applied) ? Redaction.Redact(ev, applied.Version).Content : ev.Content;
        // format=event (v1.16): the whole event, as the other reads give it; else (format=content) the content.
        return http.Request.Query["format"].ToString() switch
            {
                "" or "content" => MatrixHttp.Ok(content.DeepClone()),
                "event" => MatrixHttp.Ok(ev.ToClientJson(annotations)),
                var f => throw new MatrixException(MatrixError.InvalidParam($"format must be 'content' or 'event', not '{f}'")),
            };
    }

    private static async Task<IResult> Members(HttpContext http, Caller caller, string roomId, RoomReader reader, CancellationToken ct)
    {
        var viewer = await ViewerAsync(caller, roomId, reader, ct);
        var membership = http.Request.Query["membership"].ToString();
        var notMembership = http.Request.Query["not_membership"].ToString();
        var members = (await reader.StateAsync(roomId, await MembersPositionAsync(http, viewer, reader, ct), ct)).OfType<MemberEvent>()
            // Spec: "If both membership and not_membership are given, they are combined as an OR": a member is kept
            // when it matches either the wanted membership or any membership other than the unwanted one.
            .Where(m => (membership.Length, notMembership.Length) switch
            {
                (0, 0) => true,
                (_, 0) => m.Membership == membership,
                (0, _) => m.Membership != notMembership,
                _ => m.Membership == membership || m.Membership != notMembership,
            });
        var chunk = members.ToList();
        return MatrixHttp.Ok(new JsonObject { ["chunk"] = chunk.ToClientJson(await reader.AnnotationsAsync(caller, chunk, ct)) });
    }

    /// <summary>
    /// The position whose members <c>GET /members</c> lists: <c>at</c> (spec: "the point in time (pagination token) to
    /// return members for", a <c>prev_batch</c>/<c>/messages</c> token <c>s{n}</c> or a <c>/sync</c> token
    /// <c>e{seq}_{ephemeral}</c>, as matrix-js-sdk sends its sync token), never later than the state the caller may read
    /// (a user who left sees the room as of their leave); null = the current state.
    /// </summary>
    private static async Task<long?> MembersPositionAsync(HttpContext http, RoomViewer viewer, RoomReader reader, CancellationToken ct)
    {
        var at = http.Request.Query["at"].ToString();
        long? position = at.Length == 0 ? null
            : at[0] == 'e' ? await reader.PositionAtSequenceAsync(viewer.RoomId, SyncTokenAt(at).Events, ct)
            : StreamToken.Parse(at, "at");
        if (position is { } p && p >= viewer.Head) position = null;
        return (position, viewer.StatePosition) switch
        {
            (null, var readable) => readable,
            (var wanted, null) => wanted,
            (var wanted, var readable) => Math.Min(wanted.Value, readable.Value),
        };
    }

    private static SyncToken SyncTokenAt(string at)
    {
        try { return SyncToken.Parse(at)!.Value; }
        catch (MatrixException) { throw new MatrixException(MatrixError.InvalidParam($"'at' is not a pagination or sync token this server issued: {(at.Length > 64 ? at[..64] + "…" : at)}")); }
    }

    private static async Task<IResult> InitialSync(HttpContext http, Caller caller, string roomId, RoomReader reader,
        RoomDirectory.IRoomDirectoryVisibility directory, CancellationToken ct)
    {
        var viewer = await ViewerAsync(caller, roomId, reader, ct);
        var (chunk, end) = await PageAsync(reader, viewer, viewer.Head, null, 'b', ParseLimit(http.Request.Query["limit"].ToString(), 20), ct);
        chunk.Reverse();
        var annotations = await reader.AnnotationsAsync(caller, chunk.Select(c => c.Event), ct);
        var response = new JsonObject
        {
            ["room_id"] = roomId,
            ["messages"] = new JsonObject
            {
                ["chunk"] = chunk.Select(c => c.Event).ToClientJson(annotations),
                ["start"] = StreamToken.Format(end ?? 0),
                ["end"] = StreamToken.Format(viewer.Head),
            },
            ["state"] = await StateJsonAsync(reader, caller, roomId, viewer, ct),
            ["presence"] = new JsonArray(),
            ["receipts"] = new JsonArray(),
            ["account_data"] = new JsonArray(),
        };
        if (viewer.Membership.Current.ToWire() is { } m) response["membership"] = m;
        // The room directory's visibility (spec: "Whether this room is visible to the /publicRooms API or not"), not its history visibility.
        response["visibility"] = await directory.IsPublishedAsync(roomId, ct) ? "public" : "private";
        return MatrixHttp.Ok(response);
    }

    /// <summary>
    /// <c>GET /events?room_id=…&amp;from=…&amp;timeout=…</c> — room previews (spec "Room Previews"): waits up to
    /// <c>timeout</c> ms for events after <c>from</c> that the caller may see. This server streams one room per
    /// request, so <c>room_id</c> is required.
    /// </summary>
    private static async Task<IResult> Events(HttpContext http, Caller caller, RoomReader reader, CancellationToken ct)
    {
        var roomId = http.Request.Query["room_id"].ToString();
        if (roomId.Length == 0) return MatrixHttp.Error(MatrixError.MissingParam("room_id"));
        var timeoutMs = http.Request.Query["timeout"].ToString() is { Length: > 0 } t
            ? long.TryParse(t, out var ms) && ms >= 0 ? Math.Min(ms, 60_000) : throw new MatrixException(MatrixError.InvalidParam("timeout must be a number of milliseconds"))
            : 30_000;
        var viewer = await ViewerAsync(caller, roomId, reader, ct);
        var from = StreamToken.Parse(http.Request.Query["from"], "from") ?? viewer.Head;
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var (chunk, end) = await PageAsync(reader, viewer, from, null, 'f', 100, ct);
            if (chunk.Count > 0 || DateTime.UtcNow >= deadline)
                return MatrixHttp.Ok(new JsonObject
                {
                    ["start"] = StreamToken.Format(from),
                    ["end"] = StreamToken.Format(end ?? from),
                    ["chunk"] = chunk.Select(c => c.Event).ToClientJson(await reader.AnnotationsAsync(caller, chunk.Select(c => c.Event), ct)),
                });
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(250, Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds))), ct);
            viewer = await reader.ViewerAsync(roomId, viewer.Caller, ct);
        }
    }

    /// <summary>The state the viewer may read, redacted state events as redacted (the room_state rows keep the
    /// unredacted event, which the authorization rules go on reading: see docs/api.md).</summary>
    private static async Task<JsonArray> StateJsonAsync(RoomReader reader, Caller caller, string roomId, RoomViewer viewer, CancellationToken ct)
    {
        var state = await reader.StateAsync(roomId, viewer.StatePosition, ct);
        return state.ToClientJson(await reader.AnnotationsAsync(caller, state, ct));
    }

    private static int ParseLimit(string value, int fallback) => value.Length == 0
        ? fallback
        : int.TryParse(value, out var l) && l >= 0 ? Math.Clamp(l, 1, 1000) : throw new MatrixException(MatrixError.InvalidParam("limit must be a non-negative integer"));
}
