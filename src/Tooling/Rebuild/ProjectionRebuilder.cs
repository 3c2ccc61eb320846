using System.Diagnostics;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Matrix.Rooms.Tooling.Replay;
using Npgsql;

namespace Matrix.Rooms.Tooling.Rebuild;

public sealed record RebuildOptions
{
    /// <summary>Projection names; empty = every registered projection that stores documents.</summary>
    public IReadOnlyList<string> Projections { get; init; } = [];

    /// <summary>Events read, replayed and written per transaction. Memory grows with this, never with the event count.</summary>
    public int PageSize { get; init; } = 10_000;

    /// <summary>Rooms to verify against live aggregation before switching (0 = no verification).</summary>
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

    /// <summary>True when the rebuilt tables were switched in; false when the verification found differences (nothing switched).</summary>
    public bool Switched { get; init; }
    public long PeakWorkingSetBytes { get; init; }
    public VerificationReport? Verification { get; init; }
}

/// <summary>
/// Rebuilds projections from the event store at bulk speed, in bounded memory, beside the serving tables:
/// <list type="number">
/// <item>creates staging tables for the documents the selected projections declare (<see cref="RebuildStaging"/>:
/// Marten creates them through a staging store, the engine's model in a schema of its own); the serving tables keep serving meanwhile;</item>
/// <item>reads events in pages of <see cref="RebuildOptions.PageSize"/> by <c>seq_id</c> up to the highest sequence at the
/// start, replays each page through every selected projection in memory (<see cref="ProjectionReplayer"/>, the inline
/// projection code itself), keeps only the last write per document, and writes the page's documents to the staging
/// tables through Marten's bulk insert on the staging store (<see cref="StoreDocumentWriter"/>) — reading the next page
/// and writing this one overlap;</item>
/// <item>keeps each room's events contiguous: if a room's event arrives after a gap in its versions (an append that
/// committed late, after its page was read) the missing events are fetched by version and applied first;</item>
/// <item>catches up every room whose stream moved past what was applied (appends during the rebuild);</item>
/// <item>verifies a sample of rooms in the staging tables against live aggregation up to what was applied
/// (<see cref="RebuildVerifier"/>); a difference stops here, with nothing switched;</item>
/// <item>switches: in one transaction, takes the serving tables, applies the last appends and moves the staging tables in.
/// Progression rows are Marten's: an inline projection is current by its append transactions and has none that
/// matters; an async projection (its progression the daemon's) is rebuilt by the daemon.</item>
/// </list>
/// An event that cannot be read or applied stops the rebuild with a <see cref="RebuildFailedException"/> naming it
/// (room, version, sequence, event ID); whatever stops it before the switch leaves every serving table as it was.
/// A projection the replay cannot run (one that reads documents while projecting, or an async one) is rebuilt afterwards by Marten's
/// own daemon (<c>IProjectionDaemon.RebuildProjectionAsync</c>), in its tables, with Marten's semantics.
/// </summary>
public sealed class ProjectionRebuilder(IDocumentStore store, ILogger<ProjectionRebuilder> logger)
{
    private readonly DocumentIdentities _identities = new(store);
    private readonly string _schema = ((StoreOptions)store.Options).Events.DatabaseSchemaName;

    /// <summary>How long one attempt at the switch waits for the serving tables (readers and writers of them wait as long).</summary>
    public TimeSpan SwitchLockTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public async Task<RebuildResult> RebuildAsync(RebuildOptions options, IRebuildObserver observer, CancellationToken ct)
    {
        if (options.PageSize < 1) throw new ArgumentException("The page size must be at least 1");
        var selected = ProjectionCatalog.Select(store, options.Projections);
        if (selected.Count == 0) throw new ArgumentException("No projection stores documents; nothing to rebuild");
        RefuseSharedTypes(selected);
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

        var clock = Stopwatch.StartNew();
        var (ceiling, total) = await ExtentAsync(ct);
        observer.Planned(new RebuildPlan(selected, ceiling, total));
        logger.LogInformation("Rebuilding {Projections} over {Events} events (sequence up to {Ceiling}), pages of {PageSize}",
            string.Join(", ", selected), total, ceiling, options.PageSize);

        // An async projection's progression is the daemon's to keep (Marten offers no public way to set it): Marten rebuilds it.
        var state = new RunState(new ProjectionReplayer(selected.Where(p => p.Lifecycle != ProjectionLifecycle.Async)));
        state.Unsupported.AddRange(selected.Where(p => p.Lifecycle == ProjectionLifecycle.Async));
        VerificationReport? verification = null;
        var switched = false;
        await using (var staging = await RebuildStaging.OpenAsync(store, logger, SwitchLockTimeout, ct))
        {
            try
            {
                foreach (var type in selected.SelectMany(p => p.PublishedTypes).Distinct()) await staging.AddAsync(type, ct);
                observer.Note($"Building beside the serving tables, in schema {staging.Schema}; they switch in at the end");
                var writer = new StoreDocumentWriter(staging.Store);

                await ReplayAllAsync(state, writer, ceiling, total, options.PageSize, observer, ct);
                await CatchUpAsync(state, writer, options.PageSize, observer, ct);
                foreach (var type in state.Unsupported.SelectMany(p => p.PublishedTypes))
                    if (!state.Replayer.Projections.Any(p => p.PublishedTypes.Contains(type))) await staging.RemoveAsync(type, ct);

                var replayed = state.Replayer.Projections;
                if (options.VerifySample > 0 && replayed.Count > 0)
                {
                    clock.Stop(); // the figures are the rebuild's, as before the verification moved ahead of the switch
                    observer.Note($"Verifying up to {options.VerifySample} sampled rooms against live aggregation before switching");
                    var verifier = new RebuildVerifier(store, staging.Tables);
                    verification = await verifier.VerifyAsync(replayed, await verifier.SampleRoomsAsync(options.VerifySample, ct), ct, state.Applied);
                    clock.Start();
                }

                if (verification is { Passed: false })
                    observer.Note("The rebuilt documents differ from live aggregation: nothing was switched, the read models are as they were");
                else
                {
                    var lastRooms = 0;
                    await staging.SwitchAsync(async (connection, transaction, token) =>
                    {
                        lastRooms = await CatchUpRoundAsync(connection, transaction, state, writer, options.PageSize, token);
                    }, ct);
                    switched = true;
                    observer.Note($"Switched the rebuilt tables in: the serving tables were held for {staging.HeldFor.TotalMilliseconds:N0} ms " +
                                  $"({lastRooms} rooms caught up meanwhile)");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException && !staging.Switched)
            {
                throw await NothingSwitchedAsync(e);
            }
        }

        var byDaemon = state.Unsupported;
        if (switched)
        {
            foreach (var projection in byDaemon)
                await RebuildWithDaemonAsync(projection, total, observer, ct);
            if (options.FollowUntil is { } follow && state.Replayer.Projections.Count > 0)
            {
                // The rebuilt tables serve (or, blue/green, are the new version's) from here: follow in place, a round per transaction.
                await FollowAsync(state, new StoreDocumentWriter(store), options.PageSize, observer, follow);
            }
        }
        clock.Stop();

        var result = new RebuildResult
        {
            Replayed = state.Replayer.Projections.Select(p => p.ToString()).ToList(),
            RebuiltByDaemon = switched ? byDaemon.Select(p => p.ToString()).ToList() : [],
            Events = state.EventsApplied,
            DocumentsWritten = state.DocumentsWritten,
            Elapsed = clock.Elapsed,
            RoomsCaughtUp = state.RoomsCaughtUp.Count,
            GapsFilled = state.GapsFilled,
            PeakWorkingSetBytes = Process.GetCurrentProcess().PeakWorkingSet64,
            Verification = verification,
            Switched = switched,
        };
        logger.LogInformation(
            "Rebuilt {Projections} in {Elapsed}: {Events} events ({Rate:F0}/s), {Documents} documents, {CaughtUp} rooms caught up, {Gaps} gaps filled, " +
            "switched: {Switched}, peak working set {PeakMiB} MiB",
            string.Join(", ", result.Replayed.Concat(result.RebuiltByDaemon)), result.Elapsed, result.Events, result.EventsPerSecond,
            result.DocumentsWritten, result.RoomsCaughtUp, state.GapsFilled, switched, result.PeakWorkingSetBytes / (1024 * 1024));
        return result;
    }

    private sealed class RunState(ProjectionReplayer replayer)
    {
        public ProjectionReplayer Replayer { get; set; } = replayer;
        public Dictionary<string, long> Applied { get; } = new(StringComparer.Ordinal);
        public List<ProjectionInfo> Unsupported { get; } = [];
        public HashSet<string> RoomsCaughtUp { get; } = new(StringComparer.Ordinal);
        public long EventsApplied { get; set; }
        public long DocumentsWritten { get; set; }
        public long HighestSequence { get; set; }
        public int GapsFilled { get; set; }
        public Stopwatch Reading { get; } = new();
        public Stopwatch Replaying { get; } = new();
        public Stopwatch Writing { get; } = new();
    }

    /// <summary>A type also declared by a projection that is not being rebuilt: switching its table would lose that projection's documents.</summary>
    private void RefuseSharedTypes(IReadOnlyList<ProjectionInfo> selected)
    {
        var others = ProjectionCatalog.All(store).Where(p => !selected.Contains(p)).ToList();
        foreach (var type in selected.SelectMany(p => p.PublishedTypes).Distinct())
            if (others.FirstOrDefault(o => o.PublishedTypes.Contains(type)) is { } sharer)
                throw new ArgumentException($"{type.Name} is also written by projection {sharer}; rebuild both together");
    }

    private async Task<(long Ceiling, long Total)> ExtentAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var total = await session.Events.QueryAllRawEvents().CountAsync(ct);
        var ceiling = total == 0 ? 0 : await session.Events.QueryAllRawEvents().MaxAsync(e => e.Sequence, ct);
        return (ceiling, total);
    }

    private async Task ReplayAllAsync(RunState state, StoreDocumentWriter writer, long ceiling, long total, int pageSize, IRebuildObserver observer,
        CancellationToken ct)
    {
        // One failure ends the in-flight read and write too (a COPY is cancelled cleanly, its transaction rolled back), and
        // neither outlives this method: a write still running on a connection being disposed corrupts the protocol and hangs.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var token = failed.Token;
        long from = 0, done = 0;
        var read = ReadPageAsync(from, Math.Min(ceiling, from + pageSize), token);
        var pendingWrite = Task.CompletedTask;
        try
        {
            while (from < ceiling)
            {
                state.Reading.Start();
                var page = await read;
                state.Reading.Stop();
                from = Math.Min(ceiling, from + pageSize);
                if (from < ceiling) read = ReadPageAsync(from, Math.Min(ceiling, from + pageSize), token);

                state.Replaying.Start();
                var ordered = await WithGapsFilledAsync(state, page, token);
                var changes = await ApplyAsync(state, ordered, token);
                state.Replaying.Stop();

                state.Writing.Start();
                await pendingWrite;
                state.Writing.Stop();
                pendingWrite = WriteAndReportAsync(changes, page.Count);
                state.EventsApplied += ordered.Count;
                if (page.Count > 0) state.HighestSequence = Math.Max(state.HighestSequence, page[^1].Sequence);
            }
            await pendingWrite;
        }
        catch
        {
            await failed.CancelAsync();
            await Task.WhenAll(Quietly(read), Quietly(pendingWrite));
            throw;
        }
        observer.Progress(total, total);
        logger.LogInformation("Main pass: waited {Read} for reads, replayed for {Replay}, waited {Write} for writes",
            state.Reading.Elapsed, state.Replaying.Elapsed, state.Writing.Elapsed);

        async Task WriteAndReportAsync(DocumentChanges changes, int count)
        {
            state.DocumentsWritten += await writer.WriteAsync(changes, token);
            done += count;
            observer.Progress(Math.Min(done, total), total);
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch
        {
            // Already failing: this task's own exception is not the one to report.
        }
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
    /// is preceded by the missing events (fetched by version); events already applied are dropped. Marten's tombstones
    /// (placeholders for the sequence numbers of failed appends) belong to no room and are left out.
    /// </summary>
    private async Task<List<IEvent>> WithGapsFilledAsync(RunState state, IReadOnlyList<IEvent> page, CancellationToken ct)
    {
        var ordered = new List<IEvent>(page.Count);
        foreach (var e in page)
        {
            var room = e.StreamKey!;
            if (room == StorageConstants.TombstoneStreamKey) continue;
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
                state.Replayer = state.Replayer.Without(e.Projection);
            }
        }
    }

    /// <summary>The most events a catch-up round may still have applied for the rest to be left to the switch.</summary>
    private const int SwitchTailEvents = 100;

    /// <summary>Rooms whose stream grew past what the rebuild applied (appends during the rebuild): apply their tails, until
    /// none is behind or what is left is short enough for the switch's round (<see cref="SwitchTailEvents"/>).</summary>
    private async Task CatchUpAsync(RunState state, StoreDocumentWriter writer, int pageSize, IRebuildObserver observer, CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        for (var round = 0; round < 20; round++)
        {
            var appliedBefore = state.EventsApplied;
            var behind = await CatchUpRoundAsync(connection, null, state, writer, pageSize, ct);
            if (behind == 0) return;
            observer.Note($"Caught up {behind} rooms appended to during the rebuild");
            // A tail this short is left to the switch's own round under the tables' lock (a few milliseconds), so
            // rooms that stay busy need not all go quiet between two rounds for the rebuild to finish.
            if (state.EventsApplied - appliedBefore <= SwitchTailEvents) return;
        }
        throw new InvalidOperationException("Rooms are being appended to faster than the rebuild can catch up; stop the writers and run it again");
    }

    /// <summary>
    /// Keeps the rebuilt documents current with the appends of the servers still running on the previous tables (the
    /// blue side of a blue/green switch) until <paramref name="ct"/> is cancelled: every second, the rooms whose stream
    /// moved get their new events applied. Stop the old servers, wait for a round with nothing to apply, then stop this.
    /// </summary>
    private async Task FollowAsync(RunState state, StoreDocumentWriter writer, int pageSize, IRebuildObserver observer, CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(CancellationToken.None);
        observer.Note("Following new events (Ctrl+C to stop once the old servers are stopped and a round applies nothing)");
        var quiet = 0;
        while (!ct.IsCancellationRequested)
        {
            var applied = await CatchUpRoundAsync(connection, null, state, writer, pageSize, CancellationToken.None);
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
        await CatchUpRoundAsync(connection, null, state, writer, pageSize, CancellationToken.None);
    }

    /// <summary>
    /// One pass over the streams: every room whose version is past what was applied gets its new events, written in
    /// <paramref name="transaction"/> when given (the switch) or a transaction per batch. Returns how many rooms moved.
    /// </summary>
    private async Task<int> CatchUpRoundAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, RunState state, StoreDocumentWriter writer,
        int pageSize, CancellationToken ct)
    {
        var behind = new List<(string Room, long Version)>();
        await using (var cmd = new NpgsqlCommand($"select id, version from {_schema}.mt_streams", connection, transaction))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                var (room, version) = (reader.GetString(0), reader.IsDBNull(1) ? 0 : reader.GetInt64(1));
                if (room != StorageConstants.TombstoneStreamKey && version > state.Applied.GetValueOrDefault(room)) behind.Add((room, version));
            }
        if (behind.Count == 0) return 0;

        var batch = new List<IEvent>();
        foreach (var (room, version) in behind)
        {
            state.RoomsCaughtUp.Add(room);
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
            state.DocumentsWritten += await writer.WriteAsync(changes, ct);
            state.EventsApplied += batch.Count;
            state.HighestSequence = Math.Max(state.HighestSequence, batch.Max(e => e.Sequence));
            batch.Clear();
        }
    }

    /// <summary>
    /// The error for a rebuild that stopped before switching: names the event when the failure was about one (Marten
    /// reports its sequence: the room, version, type and Matrix event ID are read from its row, which needs no
    /// deserialising), and says that nothing was switched.
    /// </summary>
    private async Task<RebuildFailedException> NothingSwitchedAsync(Exception e)
    {
        const string unchanged = "Nothing was switched: the read models are as they were";
        if (e is RebuildFailedException { Event: null } known && known.Message.Contains(unchanged)) return known;
        if (FindEventFailure(e) is not { } failure)
        {
            logger.LogInformation(e, "The rebuild failed before switching");
            return new RebuildFailedException($"{Innermost(e).Message.TrimEnd('.')}. {unchanged}", null, e);
        }
        var unapplied = await DescribeAsync(failure);
        var verb = failure is ApplyEventException ? "apply" : "read";
        logger.LogInformation(e, "The rebuild could not {Verb} {Event}", verb, unapplied);
        return new RebuildFailedException($"Cannot {verb} {unapplied}: {Innermost(e).Message.TrimEnd('.')}. {unchanged}", unapplied, e);
    }

    private async Task<UnappliedEvent> DescribeAsync(IEventFailureContext failure)
    {
        try
        {
            await using var connection = store.Storage.Database.CreateConnection();
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand(
                $"select stream_id, version, type, data ->> 'event_id' from {_schema}.mt_events where seq_id = @seq", connection);
            cmd.Parameters.AddWithValue("seq", failure.Sequence);
            await using var reader = await cmd.ExecuteReaderAsync();
            if (await reader.ReadAsync())
                return new UnappliedEvent(reader.GetString(0), reader.GetInt64(1), failure.Sequence,
                    reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3));
        }
        catch (Exception lookup) when (lookup is NpgsqlException or InvalidCastException)
        {
            logger.LogDebug(lookup, "Could not read the row of sequence {Sequence}", failure.Sequence);
        }
        return new UnappliedEvent(failure.StreamKey ?? failure.StreamId?.ToString() ?? "?", failure.Version ?? 0, failure.Sequence,
            failure.EventTypeName, null);
    }

    private static IEventFailureContext? FindEventFailure(Exception? e) => e switch
    {
        null => null,
        IEventFailureContext failure => failure,
        AggregateException many => many.InnerExceptions.Select(FindEventFailure).FirstOrDefault(f => f is not null),
        _ => FindEventFailure(e.InnerException),
    };

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);

    private async Task RebuildWithDaemonAsync(ProjectionInfo projection, long total, IRebuildObserver observer, CancellationToken ct)
    {
        observer.Note($"Rebuilding {projection} with the Marten projection daemon");
        using var daemon = await store.BuildProjectionDaemonAsync();
        using var polling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var poll = Task.Run(async () =>
        {
            var shards = projection.Source.ShardNames();
            while (!polling.IsCancellationRequested)
            {
                await Task.Delay(500, polling.Token);
                // Marten's own progress read and event query: no table named here.
                var progress = await store.Storage.Database.FetchProjectionProgressFor(shards, polling.Token);
                var seq = progress.Count == 0 ? 0 : progress.Max(p => p.Sequence);
                await using var session = store.QuerySession();
                observer.Progress(await session.Events.QueryAllRawEvents().Where(e => e.Sequence <= seq).CountAsync(polling.Token), total);
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
