using Marten;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Visibility;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Host.Features.Reading;

/// <summary>
/// One user's view of one room: the room's history-visibility timeline and the user's membership timeline (two small
/// index reads), from which every read decides "may they see this event" without a replay.
/// </summary>
public sealed record RoomViewer(string RoomId, Caller Caller, long Head, VisibilityValueTimeline Visibility, UserMembershipTimeline Membership)
{
    public bool CanSee(long position, MatrixEvent ev) =>
        HistoryVisibilityFilter.IsVisible(position, HistoryVisibilityFilter.SubjectOf(ev, Caller.UserId), Visibility, Membership);

    /// <summary>
    /// The stream position whose state this user may read: now while joined (or peeking a world-readable room),
    /// else the position of their last membership change (a user who left sees the state as of their leave).
    /// </summary>
    public long? StatePosition =>
        Membership.Current == MembershipState.Join || Membership.Count == 0 ? null : Membership.Changes.Last().Position;
}

/// <summary>Reads rooms for the client-server API, always through a <see cref="RoomViewer"/>.</summary>
public sealed class RoomReader(IQuerySession session, Infrastructure.Sharding.RoomSessions? shards = null)
{
    /// <summary>The session reading the room's database (<see cref="Infrastructure.Sharding.RoomShards"/>); with one shard, or for a reader
    /// made for one shard's session, <c>session</c> itself.</summary>
    private IQuerySession Room(string roomId) => shards?.For(roomId) ?? session;

    /// <summary>Who may read at all: members and former members (the filter then decides per event), anyone while the
    /// room is world_readable; guests only while joined or world_readable. Unknown rooms answer like private ones.</summary>
    public async Task<RoomViewer> ViewerAsync(string roomId, Caller caller, CancellationToken ct)
    {
        var room = Room(roomId);
        var batch = room.CreateBatchQuery();
        var headTask = batch.Load<RoomHead>(roomId);
        var visibilityTask = batch.Query<VisibilityTimelineEntry>().Where(v => v.RoomId == roomId).ToList();
        var membershipTask = batch.Query<MembershipTimelineEntry>().Where(m => m.RoomId == roomId && m.UserId == caller.UserId).ToList();
        // The forgotten mark is the user's (main database); in the batch when the room is there too.
        var forgottenTask = ReferenceEquals(room, session) ? batch.Load<Forget.ForgottenRoom>(Forget.ForgottenRoom.IdFor(caller.UserId, roomId)) : null;
        var memberTask = batch.Load<RoomMember>(RoomMember.IdFor(roomId, caller.UserId));
        await batch.Execute(ct);
        forgottenTask ??= session.LoadAsync<Forget.ForgottenRoom>(Forget.ForgottenRoom.IdFor(caller.UserId, roomId), ct);

        var head = await headTask;
        var visibility = VisibilityValueTimeline.From((await visibilityTask).Select(v => (v.Position, v.Value)));
        // A forgotten room is read as if the user had never been there (spec "forget": "no longer able to retrieve history").
        var forgotten = await forgottenTask is { } f && f.AppliesTo(await memberTask);
        var membership = UserMembershipTimeline.From(forgotten ? [] : (await membershipTask).Select(m => (m.Position, m.Membership)));
        var notAllowed = MatrixError.Forbidden($"{caller.UserId} is not in room {roomId} and it is not world-readable");
        if (head is null) throw new MatrixException(notAllowed);
        if (GuestPolicy.CheckRoomRead(caller.IsGuest, membership.Current, visibility.Current) is { } guestRefusal)
            throw new MatrixException(guestRefusal);
        if (membership.Count == 0 && visibility.Current != HistoryVisibility.WorldReadable)
            throw new MatrixException(notAllowed);
        return new RoomViewer(roomId, caller, head.StreamVersion, visibility, membership);
    }

    /// <summary>The room's events at positions in [from, to], in stream order.</summary>
    public async Task<IReadOnlyList<(long Position, MatrixEvent Event)>> EventsAsync(string roomId, long from, long to, CancellationToken ct)
    {
        if (to < from || to < 1) return [];
        var events = await Room(roomId).Events.FetchStreamAsync(roomId, version: to, fromVersion: Math.Max(1, from), token: ct);
        return events.Where(e => e.Data is MatrixEvent).Select(e => (e.Version, (MatrixEvent)e.Data)).ToList();
    }

    public async Task<(long Position, MatrixEvent Event)?> EventAsync(string roomId, string eventId, CancellationToken ct)
    {
        var location = await Room(roomId).LoadAsync<RoomEventLocation>(eventId, ct);
        if (location is null || location.RoomId != roomId) return null;
        var events = await EventsAsync(roomId, location.Position, location.Position, ct);
        return events.Count == 1 ? events[0] : null;
    }

    /// <summary>
    /// The room's stream position a <c>/sync</c> token stands at: its last event at or before the token's position in
    /// the global sequence (0 when the room had none yet).
    /// </summary>
    public async Task<long> PositionAtSequenceAsync(string roomId, long sequence, CancellationToken ct) =>
        (await Room(roomId).AdvancedSql.QueryAsync<long>(
            $"select coalesce(max(version), 0) from {session.DocumentStore.Options.Events.DatabaseSchemaName}.mt_events where stream_id = ? and seq_id <= ?",
            ct, roomId, sequence))[0];

    /// <summary>The room's state now (<paramref name="position"/> null: the room_state rows) or as of a past position (a fold of the stream up to it).</summary>
    public async Task<IReadOnlyList<MatrixEvent>> StateAsync(string roomId, long? position, CancellationToken ct)
    {
        if (position is null)
        {
            var rows = await Room(roomId).Query<RoomStateEntry>().Where(s => s.RoomId == roomId).ToListAsync(ct);
            return rows.OrderBy(r => r.StreamVersion).Select(r => r.Event).ToList();
        }
        var state = new Dictionary<StateKey, MatrixEvent>();
        foreach (var (_, ev) in await EventsAsync(roomId, 1, position.Value, ct))
            if (ev.IsState) state[ev.Key] = ev;
        return state.Values.ToList();
    }

    /// <summary>
    /// Event ID → <c>txnId</c> for those of <paramref name="events"/> that <paramref name="caller"/>'s device sent with
    /// <c>PUT /send</c> (one indexed query; none when the caller sent none of them).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> TransactionIdsAsync(Caller caller, IEnumerable<MatrixEvent> events, CancellationToken ct)
    {
        var own = events.Where(e => e.Sender == caller.UserId && !e.IsState).Select(e => e.EventId).Distinct().ToArray();
        if (own.Length == 0) return new Dictionary<string, string>();
        var sent = await session.Query<Rooms.SentTransaction>()
            .Where(t => t.EventId.IsOneOf(own) && t.UserId == caller.UserId && t.DeviceId == caller.DeviceId)
            .ToListAsync(ct);
        return sent.Where(t => t.TxnId is not null).ToDictionary(t => t.EventId, t => t.TxnId!);
    }

    /// <summary>
    /// What the reader adds to <paramref name="events"/>: the caller's device's <c>txnId</c>s and the redactions that
    /// apply. One batched query (transactions and redactions by event ID, both indexed); a second, for the create and
    /// power-levels rows of the rooms concerned, only when some event was redacted. Whether a redaction applies is
    /// decided here, at read time (<see cref="Redaction.Applies"/>), with the room's current power levels.
    /// </summary>
    public async Task<EventAnnotations> AnnotationsAsync(Caller caller, IEnumerable<MatrixEvent> events, CancellationToken ct)
    {
        if (shards is not { Shards.IsSharded: true }) return await AnnotationsAsync(session, caller, events, ct);
        // Sharded: each shard's events annotated from its database (transaction records and redactions live with the room).
        var parts = new List<EventAnnotations>();
        foreach (var group in events.GroupBy(e => shards.Shards.ShardOf(e.RoomId)))
            parts.Add(await AnnotationsAsync(shards.ForShard(group.Key), caller, group, ct));
        return parts.Count == 1 ? parts[0] : new EventAnnotations(
            parts.SelectMany(p => p.TransactionIds).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value),
            parts.SelectMany(p => p.Redactions).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value));
    }

    private static async Task<EventAnnotations> AnnotationsAsync(IQuerySession session, Caller caller, IEnumerable<MatrixEvent> events, CancellationToken ct)
    {
        var list = events.ToList();
        if (list.Count == 0) return EventAnnotations.None;
        var ids = list.Select(e => e.EventId).Distinct().ToArray();
        var own = list.Where(e => e.Sender == caller.UserId && !e.IsState).Select(e => e.EventId).Distinct().ToArray();
        var batch = session.CreateBatchQuery();
        var sentTask = own.Length == 0
            ? Task.FromResult<IReadOnlyList<Rooms.SentTransaction>>([])
            : batch.Query<Rooms.SentTransaction>().Where(t => t.EventId.IsOneOf(own) && t.UserId == caller.UserId && t.DeviceId == caller.DeviceId).ToList();
        var redactionsTask = batch.Query<RoomRedaction>().Where(r => r.Redacts.IsOneOf(ids)).ToList();
        await batch.Execute(ct);
        var transactionIds = (await sentTask).Where(t => t.TxnId is not null).ToDictionary(t => t.EventId, t => t.TxnId!);
        var redactions = (await redactionsTask).OrderBy(r => r.Position).ToLookup(r => r.Redacts);
        if (redactions.Count == 0) return new EventAnnotations(transactionIds, new Dictionary<string, AppliedRedaction>());

        var rooms = redactions.SelectMany(g => g).Select(r => r.RoomId).Distinct().ToArray();
        var rows = (await session.LoadManyAsync<RoomStateEntry>(ct, rooms.SelectMany(room =>
            new[] { RoomStateEntry.IdFor(room, EventAuth.CreateKey), RoomStateEntry.IdFor(room, EventAuth.PowerLevelsKey) }))).ToLookup(r => r.RoomId);
        var rules = new Dictionary<string, (RoomVersion Version, PowerLevels Levels)>();
        foreach (var room in rooms)
            if (rows[room].FirstOrDefault(r => r.Type == EventTypes.Create)?.Event is { } create
                && RoomVersion.Get(((CreateEvent)create).RoomVersion) is { } version)
                rules[room] = (version, PowerLevels.Current(rows[room].FirstOrDefault(r => r.Type == EventTypes.PowerLevels)?.Event, create, version));

        var applied = new Dictionary<string, AppliedRedaction>();
        foreach (var ev in list)
            if (rules.TryGetValue(ev.RoomId, out var rule)
                && redactions[ev.EventId].FirstOrDefault(r => Redaction.Applies(ev, r.Event, rule.Levels, rule.Version)) is { } redaction)
                applied[ev.EventId] = new AppliedRedaction(redaction.Event, rule.Version);
        return new EventAnnotations(transactionIds, applied);
    }

    /// <summary>
    /// The member events of <paramref name="userIds"/> in the room's state now (<paramref name="position"/> null: one
    /// load of their room_state rows by ID, however many members the room has) or as of a past position (the fold).
    /// </summary>
    public async Task<IReadOnlyList<MemberEvent>> MemberEventsAsync(string roomId, IReadOnlyCollection<string> userIds, long? position, CancellationToken ct)
    {
        if (userIds.Count == 0) return [];
        if (position is not null)
            return (await StateAsync(roomId, position, ct)).OfType<MemberEvent>().Where(m => userIds.Contains(m.StateKey!)).ToList();
        var rows = await Room(roomId).LoadManyAsync<RoomStateEntry>(ct, userIds.Select(u => RoomStateEntry.IdFor(roomId, EventTypes.Member, u)));
        return rows.OrderBy(r => r.StreamVersion).Select(r => r.Event).OfType<MemberEvent>().ToList();
    }

    public async Task<MatrixEvent?> StateEventAsync(string roomId, StateKey key, long? position, CancellationToken ct)
    {
        if (position is null)
            return (await Room(roomId).LoadAsync<RoomStateEntry>(RoomStateEntry.IdFor(roomId, key), ct))?.Event;
        return (await StateAsync(roomId, position, ct)).LastOrDefault(e => e.Key == key);
    }
}
