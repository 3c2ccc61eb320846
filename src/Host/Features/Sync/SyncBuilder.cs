using System.Globalization;
using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten;
using Marten.Linq.MatchesSql;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Visibility;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Reading;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Projections.Projections;
using NodaTime;

namespace Matrix.Rooms.Host.Features.Sync;

/// <summary>One <c>/sync</c> answer and whether it holds anything (an empty incremental answer keeps the long-poll waiting).</summary>
public sealed record SyncResponse(JsonObject Body, bool HasNews, IReadOnlySet<string> WakeKeys);

/// <summary>
/// Builds <c>/sync</c> answers (spec client-server API → "Syncing"). The user's rooms come from their
/// <see cref="RoomMember"/> rows (indexed by user); an incremental sync then asks the event store which of those rooms
/// have events after the token (one grouped query on the global sequence), and reads only those rooms. Every event
/// returned passes the history-visibility filter <c>/messages</c> uses (<see cref="RoomViewer"/>).
/// </summary>
public sealed class SyncBuilder(IQuerySession session, RoomReader reader, IClock clock)
{
    /// <summary>
    /// A gap in the global sequence younger than this may be a transaction still committing (sequence numbers are
    /// taken at insert, transactions commit in any order): the token stops below it until it fills or grows old (a
    /// rolled-back append leaves a gap for ever). Marten's async daemon waits on gaps the same way.
    /// </summary>
    private static readonly TimeSpan GapSettleTime = TimeSpan.FromSeconds(2);

    /// <summary>Up to this many sequence positions since the token, an incremental sync reads them all rather than per room.</summary>
    private const long ShortSpan = 10_000;

    private static readonly string[] StrippedStateTypes =
        [EventTypes.Create, EventTypes.JoinRules, EventTypes.Name, "m.room.avatar", "m.room.canonical_alias", "m.room.encryption", EventTypes.Topic];

    private string EventsTable => $"{session.DocumentStore.Options.Events.DatabaseSchemaName}.mt_events";

    /// <summary>Where typing, receipts and account data are read (the main database); unset: <c>session</c>. A builder for
    /// one shard of rooms reads its rooms from that shard and these from the main database (<see cref="ShardedSync"/>).</summary>
    public IQuerySession? EphemeralSession { get; init; }

    /// <summary>The position a sync answered now is complete up to: the event sequence below any unsettled gap, the ephemeral head.</summary>
    public async Task<SyncToken> CurrentAsync(CancellationToken ct)
    {
        var rows = await session.AdvancedSql.QueryAsync<string>(
            "select (exists(select 1 from pg_snapshot_xip(pg_current_snapshot())))::text || ';' || coalesce((select string_agg(seq_id::text || ':' || " +
            "(extract(epoch from (now() - \"timestamp\")) * 1000)::bigint::text, ',' order by seq_id) from (select seq_id, \"timestamp\" from " +
            EventsTable + " order by seq_id desc limit 64) as recent), '')", ct);
        var parts = rows[0].Split(';');
        var recent = parts[1].Length == 0 ? [] : parts[1].Split(',').Select(p => p.Split(':'))
            .Select(p => (Seq: long.Parse(p[0], CultureInfo.InvariantCulture), AgeMs: long.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
        var events = recent.Count == 0 ? 0 : recent[^1].Seq;
        // Only a transaction in progress can fill a gap; with none, every gap is a rollback's.
        if (parts[0] == "true")
            for (var i = 1; i < recent.Count; i++)
                if (recent[i].Seq - recent[i - 1].Seq > 1 && recent[i].AgeMs < GapSettleTime.TotalMilliseconds)
                {
                    events = recent[i - 1].Seq;
                    break;
                }
        return new SyncToken(events, await EphemeralStream.HeadAsync(EphemeralSession ?? session, ct));
    }

    /// <summary>
    /// The user's membership in each of their rooms: three columns of their <see cref="RoomMember"/> rows (the
    /// (user) index), read as text rather than as documents — a user in 1,000 rooms costs one index range, not
    /// 1,000 JSON documents built by PostgreSQL and parsed here.
    /// </summary>
    private async Task<List<MembershipRow>> MembershipsAsync(string user, CancellationToken ct)
    {
        var table = session.DocumentStore.Options.FindOrResolveDocumentType(typeof(RoomMember)).TableName.QualifiedName;
        var rows = await session.AdvancedSql.QueryAsync<string>(
            // room_id and membership are duplicated columns; the JSON is camel-cased (MatrixRoomsStore), and
            // data ->> 'userId' is the expression of the (user) index.
            $"select membership || '|' || (data ->> 'streamVersion') || '|' || room_id from {table} where data ->> 'userId' = ?", ct, user);
        var members = new List<MembershipRow>(rows.Count);
        foreach (var row in rows)
        {
            // The room ID last: it is the one field that may hold the separator.
            var first = row.IndexOf('|');
            var second = row.IndexOf('|', first + 1);
            members.Add(new MembershipRow
            {
                Membership = row[..first],
                StreamVersion = long.Parse(row.AsSpan(first + 1, second - first - 1), CultureInfo.InvariantCulture),
                RoomId = row[(second + 1)..],
            });
        }
        return members;
    }

    /// <summary>The largest position ever handed out, to refuse tokens from elsewhere.</summary>
    public async Task<long> MaxSequenceAsync(CancellationToken ct) =>
        (await session.AdvancedSql.QueryAsync<long>($"select coalesce(max(seq_id), 0) from {EventsTable}", ct))[0];

    public async Task<SyncResponse> BuildAsync(Caller caller, SyncFilter filter, SyncToken? since, bool fullState, SyncToken now, CancellationToken ct)
    {
        var user = caller.UserId;
        var members = (await MembershipsAsync(user, ct)).Where(m => filter.AllowsRoom(m.RoomId)).ToList();
        var wakeKeys = new HashSet<string>(members.Where(m => m.Membership is not (Memberships.Leave or Memberships.Ban)).Select(m => SyncNotify.RoomKey(m.RoomId)))
            { SyncNotify.UserKey(user) };

        // Incremental: which rooms have events in (since, now], and from which version on.
        var changes = new Dictionary<string, (long MinVersion, long MaxVersion)>();
        if (since is { } s && members.Count > 0 && now.Events > s.Events)
        {
            // A short span (the long-poll's case) is read whole from the sequence's primary key, whatever the user's room
            // count; a long one is read through the user's rooms.
            var select = $"select stream_id || '|' || min(version)::text || '|' || max(version)::text from {EventsTable} where seq_id > ? and seq_id <= ?";
            var rows = now.Events - s.Events <= ShortSpan
                ? await session.AdvancedSql.QueryAsync<string>(select + " group by stream_id", ct, s.Events, now.Events)
                : await session.AdvancedSql.QueryAsync<string>(select + " and stream_id = any(?) group by stream_id", ct,
                    s.Events, now.Events, members.Select(m => m.RoomId).ToArray());
            var mine = members.Select(m => m.RoomId).ToHashSet();
            foreach (var row in rows)
            {
                var cut = row.Split('|');
                var roomId = string.Join('|', cut[..^2]);
                if (mine.Contains(roomId))
                    changes[roomId] = (long.Parse(cut[^2], CultureInfo.InvariantCulture), long.Parse(cut[^1], CultureInfo.InvariantCulture));
            }
        }

        // Account data and the joined rooms' typing and receipts changed since the token (one round trip).
        var sinceEphemeral = since?.Ephemeral ?? 0;
        var memberRooms = members.Where(m => m.Membership == Memberships.Join).Select(m => m.RoomId).ToArray();
        var ephemeralBatch = (EphemeralSession ?? session).CreateBatchQuery();
        var accountDataTask = ephemeralBatch.Query<EphemeralEntry>()
            .Where(e => e.Kind == EphemeralEntry.AccountData && e.UserId == user && e.Position > sinceEphemeral && e.Position <= now.Ephemeral).ToList();
        // Initial: the user's rooms' rows; incremental: the stream's changes since the token (an index range), kept for the user's rooms.
        var roomEphemeralTask = since is null
            ? ephemeralBatch.Query<EphemeralEntry>()
                .Where(e => (e.Kind == EphemeralEntry.Typing || e.Kind == EphemeralEntry.Receipt) && e.RoomId.IsOneOf(memberRooms) && e.Position <= now.Ephemeral).ToList()
            : ephemeralBatch.Query<EphemeralEntry>()
                .Where(e => e.Position > sinceEphemeral && e.Position <= now.Ephemeral && (e.Kind == EphemeralEntry.Typing || e.Kind == EphemeralEntry.Receipt)).ToList();
        await ephemeralBatch.Execute(ct);
        var accountData = await accountDataTask;
        var joinedSet = memberRooms.ToHashSet();
        var roomEphemeral = (await roomEphemeralTask).Where(e => joinedSet.Contains(e.RoomId)).ToLookup(e => e.RoomId);
        var ephemeralRooms = accountData.Select(a => a.RoomId).Concat(roomEphemeral.Select(g => g.Key)).ToHashSet();

        var plans = new List<RoomPlan>();
        var invites = new List<MembershipRow>();
        var knocks = new List<MembershipRow>();
        foreach (var m in members)
        {
            var changed = changes.TryGetValue(m.RoomId, out var c);
            var membershipChanged = since is null || (changed && m.StreamVersion >= c.MinVersion);
            switch (m.Membership)
            {
                case Memberships.Join when since is null || changed || fullState || ephemeralRooms.Contains(m.RoomId):
                    // From: the first version after the token (none for a room whose only news is ephemeral).
                    plans.Add(new RoomPlan(m, Joined: true, FullState: since is null || fullState || membershipChanged,
                        From: since is null ? 1 : changed ? c.MinVersion : long.MaxValue, To: changed ? c.MaxVersion : null, Incremental: since is not null && changed));
                    break;
                case Memberships.Invite when membershipChanged:
                    invites.Add(m);
                    break;
                case Memberships.Knock when membershipChanged:
                    knocks.Add(m);
                    break;
                case Memberships.Leave or Memberships.Ban when since is null ? filter.IncludeLeave : membershipChanged:
                    plans.Add(new RoomPlan(m, Joined: false, FullState: since is null || fullState,
                        From: since is null || !changed ? 1 : c.MinVersion, To: m.StreamVersion, Incremental: since is not null && changed));
                    break;
            }
        }

        // One round trip: heads, the user's membership timelines, stripped state for invites and knocks, account data, ephemeral.
        var timelineRooms = plans.Select(p => p.Member.RoomId).ToArray();
        var batch = session.CreateBatchQuery();
        var headsTask = batch.LoadMany<RoomHead>().ById(timelineRooms);
        var membershipTask = batch.Query<MembershipTimelineEntry>().Where(m => m.UserId == user && m.RoomId.IsOneOf(timelineRooms)).ToList();
        var strippedIds = invites.Concat(knocks).SelectMany(m => StrippedStateTypes.Select(t => RoomStateEntry.IdFor(m.RoomId, new StateKey(t, "")))
            .Append(RoomStateEntry.IdFor(m.RoomId, new StateKey(EventTypes.Member, user)))).ToArray();
        var strippedTask = batch.LoadMany<RoomStateEntry>().ById(strippedIds);
        await batch.Execute(ct);
        var heads = (await headsTask).ToDictionary(h => h.Id);
        var membership = (await membershipTask).ToLookup(m => m.RoomId);
        var stripped = (await strippedTask).ToLookup(e => e.RoomId);

        // Second round trip: each room's window of events, and the state rows it needs.
        var limit = filter.TimelineLimit;
        // The events read per room: the timeline's limit and one more (to tell whether it is limited) when only history
        // visibility can drop events; a wider window when the filter drops some by type or sender, so the page usually
        // still fills. Either way a short page says limited with a prev_batch, and the client paginates (/messages).
        // Every event read is a PDU deserialized: 30 per room for a 10-event timeline cost a 200-room initial sync 10–35 %.
        var window = filter.Timeline.KeepsEveryEvent ? limit + 1 : limit * 2 + 10;
        var events = new Dictionary<string, Task<IReadOnlyList<IEvent>>>();
        var stateRows = new Dictionary<string, Task<IReadOnlyList<RoomStateEntry>>>();
        var lazy = filter.State.LazyLoadMembers;
        batch = session.CreateBatchQuery();
        var visibilityTasks = new Dictionary<string, (long Head, Task<IReadOnlyList<VisibilityTimelineEntry>> From, Task<IReadOnlyList<VisibilityTimelineEntry>> Before)>();
        foreach (var plan in plans)
        {
            var roomId = plan.Member.RoomId;
            if (!heads.TryGetValue(roomId, out var head)) continue;
            var to = Math.Min(plan.To ?? head.StreamVersion, head.StreamVersion);
            var from = plan.From == long.MaxValue ? to + 1 : Math.Max(plan.From, to - window + 1);
            plan.WindowFrom = from;
            plan.WindowTo = to;
            // The visibility changes that decide the window's events and the room's current value: those from the
            // window on, and the last one before it ((room, position) index), not every change the room ever had.
            visibilityTasks[roomId] = (head.StreamVersion,
                batch.Query<VisibilityTimelineEntry>().Where(v => v.RoomId == roomId && v.Position >= from).ToList(),
                batch.Query<VisibilityTimelineEntry>().Where(v => v.RoomId == roomId && v.Position < from).OrderByDescending(v => v.Position).Take(1).ToList());
            if (to >= from && to >= 1) events[roomId] = batch.Events.FetchStream(roomId, to, null, Math.Max(1, from));
            if (!plan.Joined) continue;
            if (plan.FullState)
                stateRows[roomId] = lazy
                    // type < or > m.room.member rather than !=: two ranges of the (room, type) index, so a room's
                    // 100,000 member rows are not read to be thrown away.
                    ? batch.Query<RoomStateEntry>().Where(e => e.RoomId == roomId
                        && e.MatchesSql("(d.data ->> 'type' < ? or d.data ->> 'type' > ?)", EventTypes.Member, EventTypes.Member)).ToList()
                    : batch.Query<RoomStateEntry>().Where(e => e.RoomId == roomId).ToList();
            else if (plan.Incremental)
            {
                var changedFrom = plan.From;
                stateRows[roomId] = batch.Query<RoomStateEntry>().Where(e => e.RoomId == roomId && e.StreamVersion >= changedFrom).ToList();
            }
        }
        if (visibilityTasks.Count > 0 || events.Count > 0 || stateRows.Count > 0) await batch.Execute(ct);
        var viewers = new Dictionary<string, RoomViewer>();
        foreach (var (roomId, (headVersion, fromWindow, before)) in visibilityTasks)
            viewers[roomId] = new RoomViewer(roomId, caller, headVersion,
                VisibilityValueTimeline.From((await before).Concat(await fromWindow).Select(v => (v.Position, v.Value))),
                UserMembershipTimeline.From(membership[roomId].Select(m => (m.Position, m.Membership))));

        var join = new JsonObject();
        var leave = new JsonObject();
        var hasNews = false;
        var lazyMembers = new Dictionary<string, HashSet<string>>();
        var built = new List<(RoomPlan Plan, JsonObject Room, List<(long Position, MatrixEvent Event)> Timeline, List<MatrixEvent> State)>();
        foreach (var plan in plans)
        {
            var roomId = plan.Member.RoomId;
            if (!viewers.TryGetValue(roomId, out var viewer)) continue;
            var fetched = events.TryGetValue(roomId, out var t) ? await t : [];
            // A guest reads a room only while joined or while it is world-readable (GuestPolicy): one who left sees
            // only their own membership change, so they learn that they are out.
            var readable = GuestPolicy.CheckRoomRead(caller.IsGuest, viewer.Membership.Current, viewer.Visibility.Current) is null;
            var candidates = fetched
                .Where(e => e.Data is MatrixEvent && e.Sequence <= now.Events && (since is null || e.Sequence > since.Value.Events))
                .Select(e => (Position: e.Version, Event: (MatrixEvent)e.Data))
                .Where(e => viewer.CanSee(e.Position, e.Event) && filter.Timeline.Allows(e.Event)
                    && (readable || (e.Event.Type == EventTypes.Member && e.Event.StateKey == user)))
                .ToList();
            var timeline = candidates.TakeLast(limit).ToList();
            var limited = candidates.Count > limit || plan.WindowFrom > plan.From;
            var prevBatch = timeline.Count > 0 ? timeline[0].Position - 1 : plan.WindowTo;

            var state = new List<MatrixEvent>();
            var inTimeline = timeline.Select(e => e.Event.EventId).ToHashSet();
            if (stateRows.TryGetValue(roomId, out var rowsTask))
            {
                var firstTimelinePosition = timeline.Count > 0 ? timeline[0].Position : long.MaxValue;
                var rows = await rowsTask;
                if (plan.FullState) state.AddRange(rows.OrderBy(r => r.StreamVersion).Select(r => r.Event));
                else if (limited) state.AddRange(rows.Where(r => r.StreamVersion < firstTimelinePosition).OrderBy(r => r.StreamVersion).Select(r => r.Event));
            }
            else if (!plan.Joined && plan.FullState && readable)
                state.AddRange(await reader.StateAsync(roomId, plan.Member.StreamVersion, ct));
            state = state.Where(e => !inTimeline.Contains(e.EventId) && filter.State.Allows(e)
                && !(lazy && e.Type == EventTypes.Member)).ToList();
            if (lazy && plan.Joined)
                lazyMembers[roomId] = timeline.Select(e => e.Event.Sender).Append(user).ToHashSet();

            var room = new JsonObject
            {
                ["timeline"] = new JsonObject
                {
                    // Filled below, once the page's annotations (transaction IDs, redactions) are loaded for every room at once.
                    ["events"] = new JsonArray(),
                    ["limited"] = limited,
                    ["prev_batch"] = StreamToken.Format(prevBatch),
                },
                ["state"] = new JsonObject { ["events"] = new JsonArray() },
                ["account_data"] = new JsonObject { ["events"] = AccountDataEvents(accountData.Where(a => a.RoomId == roomId), filter.RoomAccountData) },
            };
            if (plan.Joined)
            {
                room["ephemeral"] = new JsonObject { ["events"] = EphemeralEvents(roomEphemeral[roomId], user, filter.Ephemeral) };
                room["summary"] = new JsonObject();
                // Push rules are not evaluated by this server: no notification counts yet (docs/api.md).
                room["unread_notifications"] = new JsonObject { ["highlight_count"] = 0, ["notification_count"] = 0 };
            }
            var roomHasNews = timeline.Count > 0 || state.Count > 0 || plan.FullState
                || ((JsonArray)room["account_data"]!["events"]!).Count > 0 || (room["ephemeral"]?["events"] as JsonArray)?.Count > 0;
            if (!roomHasNews && since is not null) continue;
            hasNews |= roomHasNews;
            built.Add((plan, room, timeline, state));
        }

        // One query for all rooms: the caller's device's transaction IDs and the redactions that apply.
        var annotations = await reader.AnnotationsAsync(caller, built.SelectMany(b => b.Timeline.Select(e => e.Event).Concat(b.State)), ct);
        foreach (var (_, room, timeline, state) in built)
        {
            room["timeline"]!["events"] = WithoutRoomId(timeline.Select(e => e.Event), annotations);
            room["state"]!["events"] = WithoutRoomId(state, annotations);
        }

        // Lazy-loaded members: the member events of the timelines' senders (and the user's own), one more round trip.
        if (lazyMembers.Count > 0)
        {
            var ids = lazyMembers.SelectMany(p => p.Value.Select(u => RoomStateEntry.IdFor(p.Key, new StateKey(EventTypes.Member, u)))).ToArray();
            // The member rows and every room's joined / invited counts (one projected RoomMemberCounts row per room,
            // whatever its size) in one round trip.
            var countBatch = session.CreateBatchQuery();
            var foundTask = countBatch.LoadMany<RoomStateEntry>().ById(ids);
            var countsTask = countBatch.LoadMany<RoomMemberCounts>().ById(lazyMembers.Keys.ToArray());
            await countBatch.Execute(ct);
            var found = (await foundTask).ToLookup(e => e.RoomId);
            var counts = (await countsTask).ToDictionary(c => c.Id);
            // A room whose counts were never projected (a database from before the projection): its rows are counted.
            foreach (var roomId in lazyMembers.Keys.Where(r => !counts.ContainsKey(r)))
                counts[roomId] = await RoomMemberCountReader.CountRowsAsync(session, roomId, ct);
            var memberAnnotations = await reader.AnnotationsAsync(caller, found.SelectMany(g => g.Select(r => r.Event)), ct);
            foreach (var (plan, room, timeline, _) in built)
            {
                if (!lazyMembers.ContainsKey(plan.Member.RoomId)) continue;
                var inTimeline = timeline.Select(e => e.Event.EventId).ToHashSet();
                var stateEvents = (JsonArray)room["state"]!["events"]!;
                foreach (var member in found[plan.Member.RoomId].Select(r => r.Event).Where(e => !inTimeline.Contains(e.EventId) && filter.State.Allows(e)))
                    stateEvents.Add(WithoutRoomId(member, memberAnnotations));
                var summary = (JsonObject)room["summary"]!;
                var roomCounts = counts[plan.Member.RoomId];
                summary["m.joined_member_count"] = roomCounts.Joined;
                summary["m.invited_member_count"] = roomCounts.Invited;
            }
        }
        foreach (var (plan, room, _, _) in built) (plan.Joined ? join : leave)[plan.Member.RoomId] = room;

        var invite = new JsonObject();
        foreach (var m in invites)
        {
            invite[m.RoomId] = new JsonObject { ["invite_state"] = new JsonObject { ["events"] = StrippedState(stripped[m.RoomId], user) } };
            hasNews = true;
        }
        var knock = new JsonObject();
        foreach (var m in knocks)
        {
            knock[m.RoomId] = new JsonObject { ["knock_state"] = new JsonObject { ["events"] = StrippedState(stripped[m.RoomId], user) } };
            hasNews = true;
        }
        var globalAccountData = AccountDataEvents(accountData.Where(a => a.RoomId == ""), filter.AccountData);
        hasNews |= globalAccountData.Count > 0;

        var body = new JsonObject
        {
            ["next_batch"] = now.ToString(),
            ["rooms"] = new JsonObject { ["join"] = join, ["invite"] = invite, ["knock"] = knock, ["leave"] = leave },
            ["account_data"] = new JsonObject { ["events"] = globalAccountData },
            ["presence"] = new JsonObject { ["events"] = new JsonArray() },
            ["to_device"] = new JsonObject { ["events"] = new JsonArray() },
            ["device_lists"] = new JsonObject { ["changed"] = new JsonArray(), ["left"] = new JsonArray() },
            ["device_one_time_keys_count"] = new JsonObject(),
        };
        return new SyncResponse(body, hasNews, wakeKeys);
    }

    private static JsonArray WithoutRoomId(IEnumerable<MatrixEvent> events, EventAnnotations? annotations = null) =>
        new(events.Select(e => (JsonNode)WithoutRoomId(e, annotations)).ToArray());

    /// <summary>Sync's events are <c>ClientEventWithoutRoomID</c>: the room is the key they sit under.</summary>
    private static JsonObject WithoutRoomId(MatrixEvent e, EventAnnotations? annotations = null)
    {
        var json = e.ToClientJson(annotations);
        json.Remove("room_id");
        return json;
    }

    /// <summary>Spec "Stripped state": type, state_key, content and sender of the listed state; the user's own member event whole.</summary>
    private static JsonArray StrippedState(IEnumerable<RoomStateEntry> rows, string userId) => new(rows.OrderBy(r => r.StreamVersion).Select(r => r.Event)
        .Select(e => (JsonNode)(e.Type == EventTypes.Member && e.StateKey == userId
            ? WithoutRoomId(e)
            : new JsonObject { ["type"] = e.Type, ["state_key"] = e.StateKey, ["content"] = e.Content.DeepClone(), ["sender"] = e.Sender }))
        .ToArray());

    private static JsonArray AccountDataEvents(IEnumerable<EphemeralEntry> entries, EventFilter filter) =>
        new(entries.Where(e => filter.AllowsType(e.Type)).OrderBy(e => e.Position).Take(filter.Limit ?? int.MaxValue)
            .Select(e => (JsonNode)new JsonObject { ["type"] = e.Type, ["content"] = e.Content.DeepClone() }).ToArray());

    /// <summary>The room's <c>m.typing</c> (everyone typing now) and one <c>m.receipt</c> with the receipts changed (private ones only the user's own).</summary>
    private JsonArray EphemeralEvents(IEnumerable<EphemeralEntry> entries, string userId, EventFilter filter)
    {
        var result = new JsonArray();
        var list = entries.ToList();
        if (list.FirstOrDefault(e => e.Kind == EphemeralEntry.Typing) is { } typing && filter.AllowsType("m.typing"))
            result.Add(new JsonObject
            {
                ["type"] = "m.typing",
                ["content"] = new JsonObject
                {
                    ["user_ids"] = new JsonArray(EphemeralStream.CurrentTypers(typing, clock.GetCurrentInstant()).Select(u => (JsonNode)u.UserId).ToArray()),
                },
            });
        var receipts = list.Where(e => e.Kind == EphemeralEntry.Receipt && (e.Type != "m.read.private" || e.UserId == userId)).ToList();
        if (receipts.Count > 0 && filter.AllowsType("m.receipt"))
        {
            var content = new JsonObject();
            foreach (var r in receipts.OrderBy(r => r.Position))
            {
                var byType = content[r.EventId!] as JsonObject ?? (JsonObject)(content[r.EventId!] = new JsonObject())!;
                var byUser = byType[r.Type] as JsonObject ?? (JsonObject)(byType[r.Type] = new JsonObject())!;
                var receipt = (JsonObject)r.Content.DeepClone();
                if (!string.IsNullOrEmpty(r.ThreadId)) receipt["thread_id"] = r.ThreadId;
                byUser[r.UserId] = receipt;
            }
            result.Add(new JsonObject { ["type"] = "m.receipt", ["content"] = content });
        }
        return filter.Limit is { } l ? new JsonArray(result.Take(l).Select(n => n!.DeepClone()).ToArray()) : result;
    }

    /// <summary>The user's membership of one room, as sync reads it from <see cref="RoomMember"/>.</summary>
    public sealed record MembershipRow
    {
        public string RoomId { get; init; } = "";
        public string Membership { get; init; } = "";
        public long StreamVersion { get; init; }
    }

    private sealed record RoomPlan(MembershipRow Member, bool Joined, bool FullState, long From, long? To, bool Incremental)
    {
        public long WindowFrom { get; set; }
        public long WindowTo { get; set; }
    }
}
