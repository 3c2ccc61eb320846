using System.Threading.Channels;
using JasperFx.Events;
using Marten;
using Marten.Events;
using Matrix.Rooms.Domain.Events;
using Npgsql;

namespace Matrix.Rooms.Tooling.Replay;

/// <summary>
/// The bulk path into the event store, used by <c>import</c> and <c>seed --bulk</c>, on Marten's public API only.
/// A room's events stream into Marten's bulk event insert (<c>IDocumentStore.BulkInsertEventStreamAsync</c>: Marten's
/// binary bulk load, sequence numbers from Marten's sequence, the stream's row from a header) as they are appended — one
/// transaction per room, so a room abandoned before <see cref="BulkRoom.CommitAsync"/> (a bad event, a refused one)
/// leaves nothing in the event store. Each event keeps the timestamp it is given (time travel's <c>--at</c> compares
/// with it). After the events commit, the room's read models are built by <see cref="ProjectionReplayer"/> and written
/// by <see cref="StoreDocumentWriter"/> (Marten's bulk document insert). Marten's bulk insert commits by itself, so
/// events and read models are two transactions: when the second fails the room's events are stored and a
/// <c>rebuild</c> builds its read models (<see cref="ReadModelsNotWrittenException"/> says so).
/// Without a replayer only the events are written (the read models are then built by a rebuild).
/// A projection the in-memory replay cannot run (one that reads documents while projecting) is run through a Marten
/// session instead: slower, but it sees the documents written so far.
/// </summary>
public sealed class BulkRoomWriter(IDocumentStore store, ProjectionReplayer? replayer) : IAsyncDisposable
{
    private ProjectionReplayer? _replayer = replayer;
    private readonly List<ProjectionInfo> _throughSession = [];
    // One room's replay at a time: the replayer keeps what keyed folds folded across rooms (seed writes two rooms at once).
    private readonly SemaphoreSlim _replayLock = new(1, 1);

    public const int DefaultBlockSize = 2_000;
    private readonly StoreDocumentWriter _documents = new(store);
    private readonly DocumentIdentities _identities = new(store);
    private readonly EventGraph _events = (EventGraph)((StoreOptions)store.Options).Events;
    private readonly string _tenantId = store.Options.Tenancy.Default.TenantId;

    /// <summary>Rows per COPY block (Marten takes the block's sequence values in one query).</summary>
    public int BlockSize { get; init; } = DefaultBlockSize;

    internal IDocumentStore Store => store;
    internal string TenantId => _tenantId;
    internal bool BuildsReadModels => _replayer is not null;

    public ValueTask DisposeAsync()
    {
        _replayLock.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Starts the room's stream of <paramref name="events"/> events (the number Marten writes into the stream's row
    /// up front; committing with another number fails and stores nothing). Fails with <see cref="RoomExistsException"/>
    /// when the database already has a stream with this room ID (nothing is written then).
    /// </summary>
    public async Task<BulkRoom> BeginRoomAsync(string roomId, long events, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(events);
        await using (var session = store.QuerySession())
            if (await session.Events.FetchStreamStateAsync(roomId, ct) is not null) throw new RoomExistsException(roomId);
        return new BulkRoom(this, roomId, events, ct);
    }

    /// <summary>
    /// Writes whole rooms at once — events known up front, as the seeder has them: every room's stream and events in
    /// one Marten bulk event insert (one transaction: all the rooms or none), then their read models in one replay and
    /// one bulk document write. Each event's stored time is its <c>origin_server_ts</c>. Fails with
    /// <see cref="RoomExistsException"/> (nothing written) when one of the rooms exists already.
    /// </summary>
    /// <exception cref="ReadModelsNotWrittenException">The events are stored, their read models not (a rebuild builds them).</exception>
    public async Task WriteRoomsAsync(IReadOnlyList<(string RoomId, IReadOnlyList<MatrixEvent> Events)> rooms, CancellationToken ct)
    {
        if (rooms.Count == 0) return;
        var headers = new List<BulkEventStreamHeader>(rooms.Count);
        var wrapped = new List<IEvent>(rooms.Sum(r => r.Events.Count));
        foreach (var (roomId, events) in rooms)
        {
            ArgumentOutOfRangeException.ThrowIfZero(events.Count);
            headers.Add(new BulkEventStreamHeader { Key = roomId, Version = events.Count });
            long version = 0;
            foreach (var ev in events)
            {
                if (ev.RoomId != roomId) throw new ArgumentException($"Event {ev.EventId} is for room {ev.RoomId}, not {roomId}", nameof(rooms));
                wrapped.Add(Wrap(roomId, ev, ++version, ev.OriginServerTs.ToDateTimeOffset()));
            }
        }
        try
        {
            await store.BulkInsertEventStreamAsync(_tenantId, headers, Enumerate(wrapped), BlockSize, ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.TableName == "mt_streams")
        {
            await using var session = store.QuerySession();
            foreach (var (roomId, _) in rooms)
                if (await session.Events.FetchStreamStateAsync(roomId, ct) is not null) throw new RoomExistsException(roomId);
            throw;
        }
        await WriteReadModelsAsync(rooms.Count == 1 ? rooms[0].RoomId : $"{rooms[0].RoomId} … ({rooms.Count} rooms)", wrapped, ct);
    }

    private static async IAsyncEnumerable<IEvent> Enumerate(List<IEvent> events)
    {
        foreach (var e in events) yield return e;
        await Task.CompletedTask;
    }

    internal IEvent Wrap(BulkRoom room, MatrixEvent ev, long version, DateTimeOffset storedAt) => Wrap(room.RoomId, ev, version, storedAt);

    private IEvent Wrap(string roomId, MatrixEvent ev, long version, DateTimeOffset storedAt)
    {
        var wrapped = _events.BuildEvent(ev);
        wrapped.Id = Guid.CreateVersion7();
        wrapped.Version = version;
        wrapped.StreamKey = roomId;
        wrapped.Timestamp = storedAt;
        wrapped.TenantId = _tenantId;
        return wrapped;
    }

    /// <summary>Builds and writes the read models of a room whose events were committed (their sequences are set by then).</summary>
    internal async Task WriteReadModelsAsync(string roomId, List<IEvent> events, CancellationToken ct)
    {
        if (_replayer is null) return;
        try
        {
            ProjectionInfo[] throughSession;
            DocumentChanges changes;
            await _replayLock.WaitAsync(ct);
            try
            {
                changes = await ReplayAsync(events, ct);
                throughSession = _throughSession.ToArray();
            }
            finally
            {
                _replayLock.Release();
            }
            await _documents.WriteAsync(changes, ct);
            if (throughSession.Length == 0) return;
            await using var session = store.LightweightSession();
            var streams = events.GroupBy(e => e.StreamKey!).Select(g => StreamAction.For(g.Key, g.ToList())).ToArray();
            foreach (var projection in throughSession)
                await projection.Source.BuildForInline().ApplyAsync(session, streams, ct);
            await session.SaveChangesAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new ReadModelsNotWrittenException(roomId, e);
        }
    }

    private async Task<DocumentChanges> ReplayAsync(List<IEvent> events, CancellationToken ct)
    {
        while (true)
        {
            var changes = new DocumentChanges(_identities);
            try
            {
                await _replayer!.ApplyAsync(events, changes, ct);
                return changes;
            }
            catch (ProjectionReplayException e) when (e.InnerException is ReplayNotSupportedException)
            {
                if (!_throughSession.Contains(e.Projection)) _throughSession.Add(e.Projection);
                _replayer = _replayer!.Without(e.Projection);
            }
        }
    }
}

/// <summary>
/// One room being written by <see cref="BulkRoomWriter"/>: append its events in stream order, then
/// <see cref="CommitAsync"/>. Disposing without committing rolls its events back (Marten's insert is still open then).
/// </summary>
public sealed class BulkRoom : IAsyncDisposable
{
    private readonly BulkRoomWriter _writer;
    private readonly long _expected;
    // Bounded: the caller checks the next events while Marten copies the previous ones, but never runs far ahead.
    private readonly Channel<IEvent> _pending;
    private readonly List<IEvent> _appended = [];
    private readonly Task _inserting;
    private bool _committed;

    internal BulkRoom(BulkRoomWriter writer, string roomId, long expected, CancellationToken ct)
    {
        _writer = writer;
        _expected = expected;
        RoomId = roomId;
        _pending = Channel.CreateBounded<IEvent>(new BoundedChannelOptions(writer.BlockSize) { SingleReader = true, SingleWriter = true });
        var header = new BulkEventStreamHeader { Key = roomId, Version = expected };
        _inserting = Task.Run(async () =>
        {
            try
            {
                await writer.Store.BulkInsertEventStreamAsync(writer.TenantId, [header], _pending.Reader.ReadAllAsync(ct), writer.BlockSize, ct);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.TableName == "mt_streams")
            {
                // Written by someone else since BeginRoomAsync looked.
                throw new RoomExistsException(roomId);
            }
            finally
            {
                // A failed insert reads no more: the next append learns it instead of waiting.
                _pending.Writer.TryComplete();
            }
        }, ct);
    }

    public string RoomId { get; }

    /// <summary>Events appended so far (= the stream version of the last one).</summary>
    public long Version { get; private set; }

    /// <param name="storedAt">What the store records as the event's time (time travel's <c>--at</c> compares with it).</param>
    public async Task AppendAsync(MatrixEvent ev, DateTimeOffset storedAt, CancellationToken ct)
    {
        if (ev.RoomId != RoomId) throw new ArgumentException($"Event {ev.EventId} is for room {ev.RoomId}, not {RoomId}", nameof(ev));
        if (Version >= _expected) throw new InvalidOperationException($"Room {RoomId} was begun with {_expected} events; this is one more");
        var wrapped = _writer.Wrap(this, ev, ++Version, storedAt);
        _appended.Add(wrapped);
        try
        {
            await _pending.Writer.WriteAsync(wrapped, ct);
        }
        catch (ChannelClosedException)
        {
            await _inserting; // throws what stopped the insert
            throw;
        }
    }

    /// <summary>Commits the room's events, then writes its read models.</summary>
    /// <exception cref="ReadModelsNotWrittenException">The events are stored, their read models not (a rebuild builds them).</exception>
    public async Task CommitAsync(CancellationToken ct)
    {
        if (Version != _expected)
            throw new InvalidOperationException($"Room {RoomId} was begun with {_expected} events but {Version} were appended; nothing of it was written");
        _pending.Writer.TryComplete();
        await _inserting;
        _committed = true;
        await _writer.WriteReadModelsAsync(RoomId, _appended, ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_committed) return;
        // Ending the events with an error makes Marten roll the room's transaction back.
        _pending.Writer.TryComplete(new RoomAbandonedException(RoomId));
        try
        {
            await _inserting;
        }
        catch (Exception)
        {
            // The failure (if any besides the abandonment) was reported to whoever awaited an append or the commit.
        }
    }
}

public sealed class RoomExistsException(string roomId) : Exception($"Room {roomId} already exists in this database")
{
    public string RoomId { get; } = roomId;
}

/// <summary>A room was disposed before its commit: its events are rolled back.</summary>
public sealed class RoomAbandonedException(string roomId) : Exception($"Room {roomId} was not committed; nothing of it was written")
{
    public string RoomId { get; } = roomId;
}

/// <summary>A room's events were committed but its read models could not be written; <c>rebuild</c> builds them.</summary>
public sealed class ReadModelsNotWrittenException(string roomId, Exception inner)
    : Exception($"The events of room {roomId} are stored, but its read models could not be written ({inner.Message}); " +
                "run 'rebuild' to build them", inner)
{
    public string RoomId { get; } = roomId;
}
