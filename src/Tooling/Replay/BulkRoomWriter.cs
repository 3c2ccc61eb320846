using JasperFx.Events;
using Marten;
using Marten.Events;
using Matrix.Rooms.Domain.Events;
using Npgsql;
using NpgsqlTypes;

namespace Matrix.Rooms.Tooling.Replay;

/// <summary>
/// The bulk path into the event store, used by <c>import</c> and <c>seed --bulk</c>: one room per transaction, its events
/// streamed through binary COPY into <c>mt_events</c> in blocks (each block takes its <c>seq_id</c>s from
/// <c>mt_events_sequence</c>, so live appends and the async daemon see ordinary sequence numbers), and the room's
/// projection documents written by <see cref="ProjectionReplayer"/> + <see cref="DocumentWriter"/> in the same
/// transaction. A room is therefore either entirely there — events and read models — or not at all.
/// Without a replayer only the events are written (the read models are then built by a rebuild).
/// A projection the in-memory replay cannot run (one that reads documents while projecting) is run through a Marten
/// session enlisted in the same transaction instead: slower, but it sees the room's documents written so far.
/// </summary>
public sealed class BulkRoomWriter(IDocumentStore store, ProjectionReplayer? replayer) : IAsyncDisposable
{
    private ProjectionReplayer? _replayer = replayer;
    private readonly List<ProjectionInfo> _throughSession = [];
    private readonly Lock _projectionsLock = new();

    public const int DefaultBlockSize = 2_000;
    private readonly DocumentWriter _documents = new(store);
    private readonly DocumentIdentities _identities = new(store);
    private readonly EventGraph _events = (EventGraph)((StoreOptions)store.Options).Events;
    private readonly ISerializer _serializer = store.Options.Serializer();
    private readonly string _schema = ((StoreOptions)store.Options).Events.DatabaseSchemaName;
    private readonly Dictionary<Type, (string Name, string DotNet)> _typeNames = MatrixEvent.StoredTypes
        .ToDictionary(t => t.ClrType, t => (t.StoredName, $"{t.ClrType.FullName}, {t.ClrType.Assembly.GetName().Name}"));
    private bool _checkedColumns;

    public int BlockSize { get; init; } = DefaultBlockSize;

    public async ValueTask DisposeAsync()
    {
        if (_sequenceConnection is not null) await _sequenceConnection.DisposeAsync();
        _sequenceLock.Dispose();
    }

    /// <summary>
    /// Opens a transaction and creates the room's stream. Fails with <see cref="RoomExistsException"/> when the database
    /// already has a stream with this room ID (nothing is written then).
    /// </summary>
    public async Task<BulkRoom> BeginRoomAsync(string roomId, CancellationToken ct)
    {
        var connection = store.Storage.Database.CreateConnection();
        try
        {
            await connection.OpenAsync(ct);
            if (!_checkedColumns)
            {
                await CheckEventColumnsAsync(connection, ct);
                _checkedColumns = true;
            }
            var transaction = await connection.BeginTransactionAsync(ct);
            await using var insert = new NpgsqlCommand(
                $"insert into {_schema}.mt_streams (id, type, version, timestamp, created, tenant_id, is_archived) " +
                "values (@id, null, 0, now(), now(), '*DEFAULT*', false) on conflict (id) do nothing", connection, transaction);
            insert.Parameters.AddWithValue("id", roomId);
            if (await insert.ExecuteNonQueryAsync(ct) == 0)
            {
                await transaction.RollbackAsync(ct);
                throw new RoomExistsException(roomId);
            }
            return new BulkRoom(this, roomId, connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Refuses to run against an event table with columns this writer would leave empty though they are required
    /// (e.g. metadata columns switched on after this code was written), rather than writing incomplete rows.
    /// </summary>
    private async Task CheckEventColumnsAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "select column_name from information_schema.columns where table_schema = @schema and table_name = 'mt_events' " +
            "and is_nullable = 'NO' and column_default is null", connection);
        cmd.Parameters.AddWithValue("schema", _schema);
        var required = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) required.Add(reader.GetString(0));
        var missing = required.Except(EventColumns).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException(
                $"{_schema}.mt_events has required columns the bulk writer does not fill: {string.Join(", ", missing)}");
    }

    private static readonly string[] EventColumns =
        ["seq_id", "id", "stream_id", "version", "data", "type", "timestamp", "tenant_id", "mt_dotnet_type", "is_archived"];

    internal async Task WriteBlockAsync(BulkRoom room, List<(MatrixEvent Event, long Version, DateTimeOffset StoredAt, byte[] Json)> block, long[] sequences,
        CancellationToken ct)
    {
        var connection = room.Connection;
        var transaction = room.Transaction;
        var events = new List<IEvent>(block.Count);
        // Synchronous writes: this runs on its own task, and ten awaits per row cost more than the occasional blocking flush.
        using (var copy = connection.BeginBinaryImport($"copy {_schema}.mt_events ({string.Join(", ", EventColumns)}) from stdin (format binary)"))
        {
            for (var i = 0; i < block.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                var (ev, version, storedAt, json) = block[i];
                var (name, dotNet) = _typeNames[ev.GetType()];
                var id = Guid.CreateVersion7();
                if (_replayer is not null)
                {
                    var wrapped = _events.BuildEvent(ev);
                    wrapped.Id = id;
                    wrapped.Sequence = sequences[i];
                    wrapped.Version = version;
                    wrapped.StreamKey = room.RoomId;
                    wrapped.Timestamp = storedAt;
                    wrapped.TenantId = "*DEFAULT*";
                    events.Add(wrapped);
                }

                copy.StartRow();
                copy.Write(sequences[i], NpgsqlDbType.Bigint);
                copy.Write(id, NpgsqlDbType.Uuid);
                copy.Write(room.RoomId, NpgsqlDbType.Varchar);
                copy.Write(version, NpgsqlDbType.Bigint);
                copy.Write(json, NpgsqlDbType.Jsonb);
                copy.Write(name, NpgsqlDbType.Varchar);
                copy.Write(storedAt, NpgsqlDbType.TimestampTz);
                copy.Write("*DEFAULT*", NpgsqlDbType.Varchar);
                copy.Write(dotNet, NpgsqlDbType.Varchar);
                copy.Write(false, NpgsqlDbType.Boolean);
            }
            copy.Complete();
        }

        if (_replayer is null) return;
        await _documents.WriteAsync(connection, transaction, await ReplayAsync(events, ct), ct);

        ProjectionInfo[] throughSession;
        lock (_projectionsLock) throughSession = _throughSession.ToArray();
        if (throughSession.Length == 0) return;
        await using var session = store.LightweightSession(Marten.Services.SessionOptions.ForTransaction(transaction));
        var streams = new[] { StreamAction.For(room.RoomId, events) };
        foreach (var projection in throughSession)
            await projection.Source.BuildForInline().ApplyAsync(session, streams, ct);
        await session.SaveChangesAsync(ct);
    }

    private async Task<DocumentChanges> ReplayAsync(List<IEvent> events, CancellationToken ct)
    {
        while (true)
        {
            var replayer = _replayer!;
            var changes = new DocumentChanges(_identities);
            try
            {
                await replayer.ApplyAsync(events, changes, ct);
                return changes;
            }
            catch (ProjectionReplayException e) when (e.InnerException is ReplayNotSupportedException)
            {
                lock (_projectionsLock)
                {
                    if (!_throughSession.Contains(e.Projection)) _throughSession.Add(e.Projection);
                    _replayer = _replayer!.Without(e.Projection);
                }
            }
        }
    }

    /// <summary>
    /// Takes <paramref name="count"/> values of <c>mt_events_sequence</c> in ascending order, on a connection of its own:
    /// sequence values are not transactional, so this runs while the previous block is being copied (a rolled-back room
    /// leaves a gap in the sequence, as any failed append does).
    /// </summary>
    internal async Task<long[]> NextSequencesAsync(int count, CancellationToken ct)
    {
        await _sequenceLock.WaitAsync(ct);
        try
        {
            if (_sequenceConnection is null)
            {
                _sequenceConnection = store.Storage.Database.CreateConnection();
                await _sequenceConnection.OpenAsync(ct);
            }
            var sequences = new long[count];
            await using var next = new NpgsqlCommand($"select nextval('{_schema}.mt_events_sequence') from generate_series(1, @n)", _sequenceConnection);
            next.Parameters.AddWithValue("n", count);
            await using var reader = await next.ExecuteReaderAsync(ct);
            for (var i = 0; await reader.ReadAsync(ct); i++) sequences[i] = reader.GetInt64(0);
            Array.Sort(sequences);
            return sequences;
        }
        finally
        {
            _sequenceLock.Release();
        }
    }

    private NpgsqlConnection? _sequenceConnection;
    private readonly SemaphoreSlim _sequenceLock = new(1, 1);

    /// <summary>The event as the store keeps it (its JSON), made by the caller's thread while the previous block is written.</summary>
    internal byte[] Serialize(MatrixEvent ev, System.Buffers.ArrayBufferWriter<byte> buffer)
    {
        buffer.ResetWrittenCount();
        _serializer.WriteTo(buffer, ev);
        return buffer.WrittenSpan.ToArray();
    }

    internal async Task FinishAsync(BulkRoom room, long version, DateTimeOffset lastStoredAt, DateTimeOffset firstStoredAt, CancellationToken ct)
    {
        await using var update = new NpgsqlCommand(
            $"update {_schema}.mt_streams set version = @version, timestamp = @timestamp, created = @created where id = @id",
            room.Connection, room.Transaction);
        update.Parameters.AddWithValue("version", version);
        update.Parameters.AddWithValue("timestamp", lastStoredAt);
        update.Parameters.AddWithValue("created", firstStoredAt);
        update.Parameters.AddWithValue("id", room.RoomId);
        await update.ExecuteNonQueryAsync(ct);
        await room.Transaction.CommitAsync(ct);
    }
}

/// <summary>
/// One room being written by <see cref="BulkRoomWriter"/>: append its events in stream order, then
/// <see cref="CommitAsync"/>. Disposing without committing rolls everything back.
/// </summary>
public sealed class BulkRoom : IAsyncDisposable
{
    private readonly BulkRoomWriter _writer;
    private List<(MatrixEvent, long, DateTimeOffset, byte[])> _block = [];
    private readonly System.Buffers.ArrayBufferWriter<byte> _json = new(4096);
    private Task _writing = Task.CompletedTask;
    private bool _committed;
    private DateTimeOffset _first, _last;

    internal BulkRoom(BulkRoomWriter writer, string roomId, NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        _writer = writer;
        RoomId = roomId;
        Connection = connection;
        Transaction = transaction;
    }

    public string RoomId { get; }
    internal NpgsqlConnection Connection { get; }
    internal NpgsqlTransaction Transaction { get; }

    /// <summary>Events appended so far (= the stream version of the last one).</summary>
    public long Version { get; private set; }

    /// <param name="storedAt">What the store records as the event's time (time travel's <c>--at</c> compares with it).</param>
    public async Task AppendAsync(MatrixEvent ev, DateTimeOffset storedAt, CancellationToken ct)
    {
        if (ev.RoomId != RoomId) throw new ArgumentException($"Event {ev.EventId} is for room {ev.RoomId}, not {RoomId}", nameof(ev));
        if (Version == 0) _first = storedAt;
        _last = storedAt;
        _block.Add((ev, ++Version, storedAt, _writer.Serialize(ev, _json)));
        if (_block.Count >= _writer.BlockSize) await FlushAsync(ct);
    }

    public async Task CommitAsync(CancellationToken ct)
    {
        await FlushAsync(ct);
        await _writing;
        await _writer.FinishAsync(this, Version, _last, _first, ct);
        _committed = true;
    }

    /// <summary>
    /// Hands the block to the database and returns: the caller prepares the next block (parsing, checking the rules)
    /// while this one is copied and projected. One block is written at a time, in order, on the room's connection.
    /// </summary>
    private async Task FlushAsync(CancellationToken ct)
    {
        if (_block.Count == 0) return;
        var sequences = await _writer.NextSequencesAsync(_block.Count, ct);
        await _writing;
        var block = _block;
        _block = new List<(MatrixEvent, long, DateTimeOffset, byte[])>(_writer.BlockSize);
        _writing = Task.Run(() => _writer.WriteBlockAsync(this, block, sequences, ct), ct);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _writing;
        }
        catch (Exception) when (!_committed)
        {
            // The failure was reported to whoever awaited the commit; here only the rollback matters.
        }
        if (!_committed)
        {
            try
            {
                await Transaction.RollbackAsync();
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // The connection is already broken; PostgreSQL rolls the transaction back on its own.
            }
        }
        await Transaction.DisposeAsync();
        await Connection.DisposeAsync();
    }
}

public sealed class RoomExistsException(string roomId) : Exception($"Room {roomId} already exists in this database")
{
    public string RoomId { get; } = roomId;
}
