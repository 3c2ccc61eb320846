using System.Diagnostics;
using JasperFx.Events;
using Marten;
using Matrix.Rooms.Host.Tooling.Replay;
using Npgsql;

namespace Matrix.Rooms.Host.Tooling.Rebuild;

public sealed record RebuildOptions
{
    /// <summary>Projection names; empty = every registered projection that stores documents.</summary>
    public IReadOnlyList<string> Projections { get; init; } = [];

    /// <summary>Events read, replayed and written per transaction. Memory grows with this, never with the event count.</summary>
    public int PageSize { get; init; } = 10_000;

    /// <summary>Empty the declared document tables first (TRUNCATE). Off: overwrite in place, then remove what no event produced.</summary>
    public bool Wipe { get; init; } = true;

    /// <summary>Rooms to verify against live aggregation afterwards (0 = no verification).</summary>
    public int VerifySample { get; init; } = 20;

    /// <summary>After rebuilding, keep applying new events until this is cancelled (blue/green switch-over).</summary>
    public CancellationToken? FollowUntil { get; init; }
}

/// <summary>What a rebuild is about to do.</summary>
public sealed record RebuildPlan(IReadOnlyList<ProjectionInfo> Projections, long HighestSequence, long TotalEvents);

public interface IRebuildObserver
{
    void Planned(RebuildPlan plan);
    void Progress(long eventsDone, long eventsTotal);
    void Note(string message);
}

public sealed record RebuildResult
{
    public required IReadOnlyList<string> Replayed { get; init; }
    public required IReadOnlyList<string> RebuiltByDaemon { get; init; }
    public long Events { get; init; }
    public long DocumentsWritten { get; init; }
    public TimeSpan Elapsed { get; init; }
    public double EventsPerSecond => Elapsed.TotalSeconds > 0 ? Events / Elapsed.TotalSeconds : 0;
    public int RoomsCaughtUp { get; init; }
    public int GapsFilled { get; init; }
    public long DocumentsSwept { get; init; }
    public long PeakWorkingSetBytes { get; init; }
    public VerificationReport? Verification { get; init; }
}

/// <summary>
/// Rebuilds projections from the event store at bulk speed, in bounded memory:
/// <list type="number">
/// <item>reads events in pages of <see cref="RebuildOptions.PageSize"/> by <c>seq_id</c> up to the highest sequence at the
/// start, replays each page through every selected projection in memory (<see cref="ProjectionReplayer"/>, the inline
/// projection code itself), keeps only the last write per document, and writes the page's documents in one transaction
/// with binary COPY (<see cref="DocumentWriter"/>) — reading the next page and writing this one overlap;</item>
/// <item>keeps each room's events contiguous: if a room's event arrives after a gap in its versions (an append that
/// committed late, after its page was read) the missing events are fetched by version and applied first;</item>
/// <item>afterwards catches up every room whose stream moved past what was applied (appends during the rebuild), until
/// none is behind;</item>
/// <item>sets each projection's progression rows (<c>name:All</c>, <c>name:V2:All</c>, …) to where it ended, so an async
/// daemon resumes from there, and verifies a sample of rooms against live aggregation (<see cref="RebuildVerifier"/>).</item>
/// </list>
/// A projection the replay cannot run (one that reads documents while projecting) is rebuilt by Marten's own daemon
/// (<c>IProjectionDaemon.RebuildProjectionAsync</c>) instead, with the same progress reporting.
/// </summary>
public sealed class ProjectionRebuilder(IDocumentStore store, ILogger<ProjectionRebuilder> logger)
{
    private readonly DocumentWriter _writer = new(store);
    private readonly DocumentIdentities _identities = new(store);
    private readonly string _schema = ((StoreOptions)store.Options).Events.DatabaseSchemaName;

    public async Task<RebuildResult> RebuildAsync(RebuildOptions options, IRebuildObserver observer, CancellationToken ct)
    {
        if (options.PageSize < 1) throw new ArgumentException("The page size must be at least 1");
        var selected = ProjectionCatalog.Select(store, options.Projections);
        if (selected.Count == 0) throw new ArgumentException("No projection stores documents; nothing to rebuild");
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

        var clock = Stopwatch.StartNew();
        var (ceiling, total, startedAt) = await ExtentAsync(ct);
        var plan = new RebuildPlan(selected, ceiling, total);
        observer.Planned(plan);
        logger.LogInformation("Rebuilding {Projections} over {Events} events (sequence up to {Ceiling}), pages of {PageSize}",
            string.Join(", ", selected), total, ceiling, options.PageSize);

        if (options.Wipe) await WipeAsync(selected, observer, ct);

        var state = new RunState(new ProjectionReplayer(selected));
        await ReplayAllAsync(state, ceiling, total, options.PageSize, observer, ct);
        var caughtUp = await CatchUpAsync(state, options.PageSize, observer, ct);
        if (options.FollowUntil is { } follow) caughtUp += await FollowAsync(state, options.PageSize, observer, follow);

        long swept = 0;
        if (!options.Wipe || state.WrittenTypes.Any(t => !selected.Any(p => p.PublishedTypes.Contains(t))))
            swept = await SweepAsync(state, selected, startedAt, options.Wipe, observer, ct);

        var replayed = state.Replayer.Projections;
        await MarkProgressionAsync(replayed, state.HighestSequence, ct);

        var byDaemon = state.Unsupported;
        foreach (var projection in byDaemon)
            await RebuildWithDaemonAsync(projection, total, observer, ct);
        clock.Stop();

        VerificationReport? verification = null;
        if (options.VerifySample > 0 && replayed.Count > 0)
        {
            observer.Note($"Verifying up to {options.VerifySample} sampled rooms against live aggregation");
            var verifier = new RebuildVerifier(store);
            verification = await verifier.VerifyAsync(replayed, await verifier.SampleRoomsAsync(options.VerifySample, ct), ct);
        }

        var result = new RebuildResult
        {
            Replayed = replayed.Select(p => p.ToString()).ToList(),
            RebuiltByDaemon = byDaemon.Select(p => p.ToString()).ToList(),
            Events = state.EventsApplied,
            DocumentsWritten = state.DocumentsWritten,
            Elapsed = clock.Elapsed,
            RoomsCaughtUp = caughtUp,
            GapsFilled = state.GapsFilled,
            DocumentsSwept = swept,
            PeakWorkingSetBytes = Process.GetCurrentProcess().PeakWorkingSet64,
            Verification = verification,
        };
        logger.LogInformation(
            "Rebuilt {Projections} in {Elapsed}: {Events} events ({Rate:F0}/s), {Documents} documents, {CaughtUp} rooms caught up, {Gaps} gaps filled, peak working set {PeakMiB} MiB",
            string.Join(", ", result.Replayed.Concat(result.RebuiltByDaemon)), result.Elapsed, result.Events, result.EventsPerSecond,
            result.DocumentsWritten, caughtUp, state.GapsFilled, result.PeakWorkingSetBytes / (1024 * 1024));
        return result;
    }

    private sealed class RunState(ProjectionReplayer replayer)
    {
        public ProjectionReplayer Replayer { get; set; } = replayer;
        public Dictionary<string, long> Applied { get; } = new(StringComparer.Ordinal);
        public HashSet<Type> WrittenTypes { get; } = [];
        public List<ProjectionInfo> Unsupported { get; } = [];
        public long EventsApplied { get; set; }
        public long DocumentsWritten { get; set; }
        public long HighestSequence { get; set; }
        public int GapsFilled { get; set; }
        public Stopwatch Reading { get; } = new();
        public Stopwatch Replaying { get; } = new();
        public Stopwatch Writing { get; } = new();
    }

    private async Task<(long Ceiling, long Total, DateTimeOffset StartedAt)> ExtentAsync(CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand(
            $"select coalesce(max(seq_id), 0), count(*), now() from {_schema}.mt_events", connection);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2));
    }

    private async Task WipeAsync(IReadOnlyList<ProjectionInfo> selected, IRebuildObserver observer, CancellationToken ct)
    {
        var others = ProjectionCatalog.All(store).Where(p => !selected.Contains(p)).ToList();
        var tables = new List<string>();
        foreach (var type in selected.SelectMany(p => p.PublishedTypes).Distinct())
        {
            if (others.FirstOrDefault(o => o.PublishedTypes.Contains(type)) is { } sharer)
                throw new InvalidOperationException(
                    $"{type.Name} is also written by projection {sharer}; rebuild both together, or rebuild without wiping");
            await store.Storage.Database.EnsureStorageExistsAsync(type, ct);
            tables.Add(_writer.TableFor(type));
        }
        if (tables.Count == 0) return;
        observer.Note($"Emptying {string.Join(", ", tables)}");
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var truncate = new NpgsqlCommand($"truncate {string.Join(", ", tables)}", connection);
        await truncate.ExecuteNonQueryAsync(ct);
    }

    private async Task ReplayAllAsync(RunState state, long ceiling, long total, int pageSize, IRebuildObserver observer, CancellationToken ct)
    {
        await using var writeConnection = store.Storage.Database.CreateConnection();
        await writeConnection.OpenAsync(ct);
        long from = 0;
        var read = ReadPageAsync(from, Math.Min(ceiling, from + pageSize), ct);
        Task pendingWrite = Task.CompletedTask;
        long done = 0;

        while (from < ceiling)
        {
            state.Reading.Start();
            var page = await read;
            state.Reading.Stop();
            var to = Math.Min(ceiling, from + pageSize);
            from = to;
            if (from < ceiling) read = ReadPageAsync(from, Math.Min(ceiling, from + pageSize), ct);

            state.Replaying.Start();
            var ordered = await WithGapsFilledAsync(state, page, ct);
            var changes = await ApplyAsync(state, ordered, ct);
            state.Replaying.Stop();

            state.Writing.Start();
            await pendingWrite;
            state.Writing.Stop();
            var count = page.Count;
            pendingWrite = WritePageAsync(writeConnection, state, changes, ct).ContinueWith(t =>
            {
                t.GetAwaiter().GetResult();
                done += count;
                observer.Progress(Math.Min(done, total), total);
            }, ct, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            state.EventsApplied += ordered.Count;
            if (page.Count > 0) state.HighestSequence = Math.Max(state.HighestSequence, page[^1].Sequence);
        }
        await pendingWrite;
        observer.Progress(total, total);
        logger.LogInformation("Main pass: waited {Read} for reads, replayed for {Replay}, waited {Write} for writes",
            state.Reading.Elapsed, state.Replaying.Elapsed, state.Writing.Elapsed);
    }

    private async Task<IReadOnlyList<IEvent>> ReadPageAsync(long after, long upTo, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.Events.QueryAllRawEvents()
            .Where(e => e.Sequence > after && e.Sequence <= upTo)
            .OrderBy(e => e.Sequence)
            .ToListAsync(ct);
    }

    /// <summary>
    /// The page's events in order, each room's kept contiguous: an event whose version is past the room's next one
    /// is preceded by the missing events (fetched by version); events already applied are dropped.
    /// </summary>
    private async Task<List<IEvent>> WithGapsFilledAsync(RunState state, IReadOnlyList<IEvent> page, CancellationToken ct)
    {
        var ordered = new List<IEvent>(page.Count);
        foreach (var e in page)
        {
            var room = e.StreamKey!;
            var applied = state.Applied.GetValueOrDefault(room);
            if (e.Version <= applied) continue;
            if (e.Version > applied + 1)
            {
                await using var session = store.QuerySession();
                var missing = await session.Events.FetchStreamAsync(room, version: e.Version - 1, fromVersion: applied + 1, token: ct);
                ordered.AddRange(missing);
                state.GapsFilled++;
                logger.LogDebug("Room {Room}: filled versions {From}..{To} that committed after their page was read", room, applied + 1, e.Version - 1);
            }
            ordered.Add(e);
            state.Applied[room] = e.Version;
        }
        return ordered;
    }

    private async Task<DocumentChanges> ApplyAsync(RunState state, IReadOnlyList<IEvent> events, CancellationToken ct)
    {
        while (true)
        {
            var changes = new DocumentChanges(_identities);
            try
            {
                await state.Replayer.ApplyAsync(events, changes, ct);
                return changes;
            }
            catch (ProjectionReplayException e) when (e.InnerException is ReplayNotSupportedException unsupported)
            {
                // This projection reads while it projects: hand it to Marten's daemon and replay the page without it.
                logger.LogWarning("Projection {Projection} uses {Operation}; it will be rebuilt by the Marten daemon instead",
                    e.Projection, unsupported.Operation);
                state.Unsupported.Add(e.Projection);
                state.Replayer = new ProjectionReplayer(state.Replayer.Projections.Where(p => p != e.Projection));
            }
        }
    }

    private async Task WritePageAsync(NpgsqlConnection connection, RunState state, DocumentChanges changes, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct);
        state.DocumentsWritten += await _writer.WriteAsync(connection, transaction, changes, ct);
        await transaction.CommitAsync(ct);
        foreach (var type in changes.Types) state.WrittenTypes.Add(type);
    }

    /// <summary>Rooms whose stream grew past what the rebuild applied (appends during the rebuild): apply their tails, until none is behind.</summary>
    private async Task<int> CatchUpAsync(RunState state, int pageSize, IRebuildObserver observer, CancellationToken ct)
    {
        var rooms = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        for (var round = 0; round < 20; round++)
        {
            var behind = await CatchUpRoundAsync(connection, state, pageSize, rooms, ct);
            if (behind == 0) return rooms.Count;
            observer.Note($"Caught up {behind} rooms appended to during the rebuild");
        }
        throw new InvalidOperationException("Rooms are being appended to faster than the rebuild can catch up; stop the writers and run it again");
    }

    /// <summary>
    /// Keeps the rebuilt documents current with the appends of the servers still running on the previous tables (the
    /// blue side of a blue/green switch) until <paramref name="ct"/> is cancelled: every second, the rooms whose stream
    /// moved get their new events applied. Stop the old servers, wait for a round with nothing to apply, then stop this.
    /// </summary>
    private async Task<int> FollowAsync(RunState state, int pageSize, IRebuildObserver observer, CancellationToken ct)
    {
        var rooms = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(CancellationToken.None);
        observer.Note("Following new events (Ctrl+C to stop once the old servers are stopped and a round applies nothing)");
        var quiet = 0;
        while (!ct.IsCancellationRequested)
        {
            var applied = await CatchUpRoundAsync(connection, state, pageSize, rooms, CancellationToken.None);
            quiet = applied == 0 ? quiet + 1 : 0;
            if (applied > 0 || quiet == 1)
                observer.Note(applied > 0 ? $"Following: applied the new events of {applied} rooms" : "Following: up to date");
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        // One last round after the stop, for anything committed while the last one ran.
        await CatchUpRoundAsync(connection, state, pageSize, rooms, CancellationToken.None);
        return rooms.Count;
    }

    /// <summary>One pass over the streams: every room whose version is past what was applied gets its new events. Returns how many rooms moved.</summary>
    private async Task<int> CatchUpRoundAsync(NpgsqlConnection connection, RunState state, int pageSize, HashSet<string> rooms, CancellationToken ct)
    {
        var behind = new List<(string Room, long Version)>();
        await using (var cmd = new NpgsqlCommand($"select id, version from {_schema}.mt_streams", connection))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                var (room, version) = (reader.GetString(0), reader.IsDBNull(1) ? 0 : reader.GetInt64(1));
                if (version > state.Applied.GetValueOrDefault(room)) behind.Add((room, version));
            }
        if (behind.Count == 0) return 0;

        var batch = new List<IEvent>();
        foreach (var (room, version) in behind)
        {
            rooms.Add(room);
            await using var session = store.QuerySession();
            var tail = await session.Events.FetchStreamAsync(room, version: version,
                fromVersion: state.Applied.GetValueOrDefault(room) + 1, token: ct);
            batch.AddRange(tail);
            state.Applied[room] = version;
            if (batch.Count >= pageSize) await FlushAsync();
        }
        await FlushAsync();
        return behind.Count;

        async Task FlushAsync()
        {
            if (batch.Count == 0) return;
            var changes = await ApplyAsync(state, batch, ct);
            await WritePageAsync(connection, state, changes, ct);
            state.EventsApplied += batch.Count;
            state.HighestSequence = Math.Max(state.HighestSequence, batch.Max(e => e.Sequence));
            batch.Clear();
        }
    }

    /// <summary>
    /// Removes documents of the types the rebuild wrote that it did not write (or rewrite) itself: those no event
    /// produces any more. Only when every projection writing the type was rebuilt.
    /// </summary>
    private async Task<long> SweepAsync(RunState state, IReadOnlyList<ProjectionInfo> selected, DateTimeOffset startedAt, bool wiped,
        IRebuildObserver observer, CancellationToken ct)
    {
        var rebuildingAll = ProjectionCatalog.All(store).All(selected.Contains);
        long swept = 0;
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        foreach (var type in state.WrittenTypes)
        {
            if (wiped && selected.Any(p => p.PublishedTypes.Contains(type))) continue;
            if (!rebuildingAll && !selected.Any(p => p.PublishedTypes.Contains(type)))
            {
                observer.Note($"Not sweeping {type.Name}: no projection declares it, and not every projection was rebuilt");
                continue;
            }
            await using var cmd = new NpgsqlCommand($"delete from {_writer.TableFor(type)} where mt_last_modified < @started", connection);
            cmd.Parameters.AddWithValue("started", startedAt);
            var removed = await cmd.ExecuteNonQueryAsync(ct);
            if (removed > 0) observer.Note($"Removed {removed} {type.Name} documents no event produces any more");
            swept += removed;
        }
        return swept;
    }

    private async Task MarkProgressionAsync(IReadOnlyList<ProjectionInfo> projections, long sequence, CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        foreach (var shard in projections.SelectMany(p => p.ShardIdentities))
        {
            await using var cmd = new NpgsqlCommand(
                $"insert into {_schema}.mt_event_progression (name, last_seq_id, last_updated) values (@name, @seq, now()) " +
                "on conflict (name) do update set last_seq_id = excluded.last_seq_id, last_updated = excluded.last_updated", connection);
            cmd.Parameters.AddWithValue("name", shard);
            cmd.Parameters.AddWithValue("seq", sequence);
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }

    private async Task RebuildWithDaemonAsync(ProjectionInfo projection, long total, IRebuildObserver observer, CancellationToken ct)
    {
        observer.Note($"Rebuilding {projection} with the Marten projection daemon");
        using var daemon = await store.BuildProjectionDaemonAsync();
        using var polling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var poll = Task.Run(async () =>
        {
            await using var connection = store.Storage.Database.CreateConnection();
            await connection.OpenAsync(polling.Token);
            while (!polling.IsCancellationRequested)
            {
                await Task.Delay(500, polling.Token);
                await using var cmd = new NpgsqlCommand(
                    $"select coalesce(max(last_seq_id), 0) from {_schema}.mt_event_progression where name = any(@names)", connection);
                cmd.Parameters.AddWithValue("names", projection.ShardIdentities.ToArray());
                var seq = (long)(await cmd.ExecuteScalarAsync(polling.Token) ?? 0L);
                await using var count = new NpgsqlCommand($"select count(*) from {_schema}.mt_events where seq_id <= @seq", connection);
                count.Parameters.AddWithValue("seq", seq);
                observer.Progress((long)(await count.ExecuteScalarAsync(polling.Token) ?? 0L), total);
            }
        }, polling.Token);
        try
        {
            await daemon.RebuildProjectionAsync(projection.Name, TimeSpan.FromHours(2), ct);
        }
        finally
        {
            await polling.CancelAsync();
            try { await poll; } catch (OperationCanceledException) { }
        }
        observer.Progress(total, total);
    }
}
