using System.Diagnostics;
using System.Globalization;
using JasperFx.Events;
using Marten;
using Matrix.Rooms.Bench.All;
using Matrix.Rooms.Projections;
using Matrix.Rooms.Projections.TimeTravel;
using Matrix.Rooms.Tooling;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Replay;
using Matrix.Rooms.Tooling.Seeding;
using Matrix.Rooms.Tooling.Transfer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using NodaTime;
using Npgsql;

namespace Matrix.Rooms.Bench.Tooling;

/// <summary>
/// The brief's tooling targets, measured on a fresh database of the bench cluster (<c>.data/postgres-bench</c>, the
/// server's default durability settings), Release build:
/// <list type="bullet">
/// <item><c>rebuild [events] [rooms]</c>: seeds <c>events</c> (default 1,000,000) over <c>rooms</c> rooms through the bulk
/// path, then rebuilds every projection in a separate process (so its peak memory is the rebuild's alone) with the
/// progress display, and prints events/s and the peak working set. Target ≥ 50,000 events/s, &lt; 1 GiB.</item>
/// <item><c>import [events]</c>: one room of <c>events</c> (default 100,000) exported to JSON Lines, then imported into a
/// fresh database through Marten's bulk event insert (validation against the authorization rules and the read models included),
/// in a child process with the tooling's runtime settings (<see cref="ToolingRuntime"/>),
/// after a small warm-up import. Target ≥ 50,000 events/s.</item>
/// <item><c>time-travel [events]</c>: the latency of "state at version N / at instant T" in a room of <c>events</c>
/// (default 100,000) events.</item>
/// </list>
/// </summary>
public static class ToolingScenarios
{
    public static async Task RebuildAsync(int events, int rooms)
    {
        using var cluster = StartCluster();
        var database = $"bench_rebuild_{DateTime.UtcNow:yyyyMMddHHmmss}";
        var connection = cluster.CreateDatabase(database);
        try
        {
            await RebuildOnAsync(connection, events, rooms);
        }
        finally
        {
            await DropAsync(cluster, database);
        }
    }

    private static async Task RebuildOnAsync(string connection, int events, int rooms)
    {
        var perRoom = Math.Max(1, events / rooms);
        Console.WriteLine($"Seeding {rooms:N0} rooms x {perRoom:N0} events through the bulk path ...");
        var seeded = await SeedInChildAsync(connection, rooms, 20, perRoom, 1);
        Console.WriteLine($"Seeded {seeded.Events:N0} events in {seeded.Seconds:F1} s ({seeded.Events / seeded.Seconds:N0} events/s)");

        // The rebuild runs in a process of its own, so the peak working set it reports is the rebuild's, not the seeding's.
        var result = await RunChildAsync("rebuild", "rebuild-run", connection);
        var size = $"{seeded.Events:N0} events over {rooms:N0} rooms, every projection, sampled verification included";
        BenchMetrics.Record("rebuild_events_per_s", double.Parse(result[1], CultureInfo.InvariantCulture), "events/s", Target.AtLeast(50_000), size);
        BenchMetrics.Record("rebuild_peak_mb", double.Parse(result[2], CultureInfo.InvariantCulture), "MiB", Target.Below(1_024), "peak working set of the rebuild's own process");
    }

    /// <summary>
    /// <c>seed --bulk</c> on <paramref name="connection"/> in a child process with the tooling's runtime settings
    /// (<see cref="ToolingRuntime"/>): 245 against 329 µs CPU an event with tiered PGO on (<c>seed 20 20 1000</c>).
    /// </summary>
    internal static async Task<(long Events, double Seconds)> SeedInChildAsync(string connection, int rooms, int members, int events, int seed)
    {
        var result = await RunChildAsync("seeding", ["seed-run", connection, .. new[] { rooms, members, events, seed }.Select(v => v.ToString(CultureInfo.InvariantCulture))]);
        return (long.Parse(result[1], CultureInfo.InvariantCulture), double.Parse(result[2], CultureInfo.InvariantCulture));
    }

    /// <summary>The child process of <see cref="SeedInChildAsync"/>.</summary>
    public static async Task<int> SeedRunAsync(string connection, int rooms, int members, int events, int seed)
    {
        var seeded = await Seed(connection, new SeedOptions { Rooms = rooms, Members = members, Events = events, Seed = seed });
        Console.WriteLine(FormattableString.Invariant($"RESULT {seeded.Events} {seeded.Elapsed.TotalSeconds:F3}"));
        return 0;
    }

    /// <summary>The child process of <see cref="RebuildAsync"/>: rebuilds every projection with progress and reports.</summary>
    public static async Task<int> RebuildRunAsync(string connection)
    {
        await using var store = NewStore(connection);
        var rebuilder = new ProjectionRebuilder(store, NullLogger<ProjectionRebuilder>.Instance);
        var result = await ConsoleProgress.RunAsync("rebuild", progress =>
            rebuilder.RebuildAsync(new RebuildOptions { VerifySample = 20 }, progress, CancellationToken.None));
        Console.WriteLine($"rebuild of {string.Join(", ", result.Replayed)}");
        Console.WriteLine($"  {result.Events:N0} events in {result.Elapsed.TotalSeconds:F1} s = {result.EventsPerSecond:N0} events/s " +
                          $"(target >= 50,000); {result.DocumentsWritten:N0} documents written");
        Console.WriteLine($"  {Process.GetCurrentProcess().TotalProcessorTime.TotalMicroseconds / Math.Max(1, result.Events):N0} µs CPU an event in this process " +
                          $"(start-up and verification included; TieredPGO {(Environment.GetEnvironmentVariable("DOTNET_TieredPGO") == "0" ? "off" : "on")})");
        Console.WriteLine($"  peak working set {result.PeakWorkingSetBytes / (1024.0 * 1024):N0} MiB (target < 1,024 MiB); " +
                          $"GC heap after {GC.GetTotalMemory(false) / (1024.0 * 1024):N0} MiB");
        Console.WriteLine($"  verification: {result.Verification!.RoomsChecked} rooms, {result.Verification.DocumentsChecked:N0} documents, " +
                          $"{(result.Verification.Passed ? "all equal to live aggregation" : $"{result.Verification.Mismatches.Count} differences")}");
        Console.WriteLine(FormattableString.Invariant($"RESULT {result.EventsPerSecond:F0} {result.PeakWorkingSetBytes / (1024.0 * 1024):F0}"));
        return result.Verification.Passed ? 0 : 1;
    }

    public static async Task ImportAsync(int events)
    {
        using var cluster = StartCluster();
        var stamp = $"{DateTime.UtcNow:yyyyMMddHHmmss}";
        try
        {
            // The import runs in a process of its own with the tooling's runtime settings (ToolingRuntime), as the rebuild does.
            var connections = new[] { "export", "import", "import_events" }.Select(d => cluster.CreateDatabase($"bench_{d}_{stamp}")).ToList();
            var result = await RunChildAsync("import", [.. new[] { "import-run", events.ToString(CultureInfo.InvariantCulture), stamp }, .. connections]);
            BenchMetrics.Record("import_events_per_s", double.Parse(result[1], CultureInfo.InvariantCulture), "events/s", Target.AtLeast(50_000),
                $"one room of {long.Parse(result[2], CultureInfo.InvariantCulture):N0} events, authorization checked, read models included");
            BenchMetrics.Record("import_deferred_events_per_s", double.Parse(result[3], CultureInfo.InvariantCulture), "events/s",
                note: "the same room, --defer-projections (events only)");
        }
        finally
        {
            foreach (var database in new[] { "export", "import", "import_events" }) await DropAsync(cluster, $"bench_{database}_{stamp}");
        }
    }

    /// <summary>The child process of <see cref="ImportAsync"/>: seeds, exports and imports on the databases it is given.</summary>
    public static async Task<int> ImportRunAsync(int events, string stamp, string source, string target, string eventsOnly)
    {
        var (withModels, deferred) = await ImportOnAsync(source, target, eventsOnly, stamp, events);
        Console.WriteLine(FormattableString.Invariant($"RESULT {withModels.EventsPerSecond:F0} {withModels.EventsImported} {deferred.EventsPerSecond:F0}"));
        return 0;
    }

    private static async Task<(ImportResult WithReadModels, ImportResult Deferred)> ImportOnAsync(string source, string targetConnection,
        string eventsOnlyConnection, string stamp, int events)
    {
        Console.WriteLine($"Seeding one room of {events:N0} events (and a 2,000-event warm-up room) through the bulk path ...");
        await using var sourceStore = NewStore(source);
        var big = await Seed(sourceStore, new SeedOptions { Rooms = 1, Members = 50, Events = events, Seed = 2 });
        var warm = await Seed(sourceStore, new SeedOptions { Rooms = 1, Members = 10, Events = 2_000, Seed = 3 });
        var exporter = new EventExporter(sourceStore);
        var bigFile = Path.Combine(Path.GetTempPath(), $"bench-room-{stamp}.jsonl");
        var warmFile = Path.Combine(Path.GetTempPath(), $"bench-warm-{stamp}.jsonl");
        await Export(exporter, big.RoomIds[0], bigFile);
        await Export(exporter, warm.RoomIds[0], warmFile);
        Console.WriteLine($"Exported {big.RoomIds[0]}: {new FileInfo(bigFile).Length / (1024.0 * 1024):N1} MiB of JSON Lines");

        await using var target = NewStore(targetConnection);
        var importer = new EventImporter(target, NullLogger<EventImporter>.Instance);
        var warmUp = await importer.ImportAsync(warmFile, new Quiet(), CancellationToken.None);
        Console.WriteLine($"warm-up import: {warmUp.EventsImported:N0} events in {warmUp.Elapsed.TotalSeconds:F2} s");
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var result = await ConsoleProgress.RunAsync("import", progress => importer.ImportAsync(bigFile, progress, CancellationToken.None));
        var cpuPerEvent = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / Math.Max(1, result.EventsImported);
        if (result.Failures.Count > 0) throw new InvalidOperationException(string.Join("; ", result.Failures));
        Console.WriteLine($"import of one room through Marten's bulk event insert, checked against the authorization rules, read models after its commit:");
        Console.WriteLine($"  {result.EventsImported:N0} events in {result.Elapsed.TotalSeconds:F2} s = {result.EventsPerSecond:N0} events/s (target >= 50,000), " +
                          $"{cpuPerEvent:N0} µs CPU an event in this process");

        await using var eventsOnly = NewStore(eventsOnlyConnection);
        var copyOnly = new EventImporter(eventsOnly, NullLogger<EventImporter>.Instance);
        await copyOnly.ImportAsync(warmFile, new Quiet(), CancellationToken.None, deferProjections: true);
        cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var copied = await ConsoleProgress.RunAsync("import --defer-projections", progress =>
            copyOnly.ImportAsync(bigFile, progress, CancellationToken.None, deferProjections: true));
        if (copied.Failures.Count > 0) throw new InvalidOperationException(string.Join("; ", copied.Failures));
        Console.WriteLine("import --defer-projections (checked against the authorization rules, events only through Marten's bulk event insert; read models by a rebuild later):");
        Console.WriteLine($"  {copied.EventsImported:N0} events in {copied.Elapsed.TotalSeconds:F2} s = {copied.EventsPerSecond:N0} events/s (target >= 50,000), " +
                          $"{(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / Math.Max(1, copied.EventsImported):N0} µs CPU an event in this process");
        File.Delete(bigFile);
        File.Delete(warmFile);
        return (result, copied);
    }

    /// <summary>
    /// <c>seed [rooms] [members] [events]</c>: the bulk seeder on a fresh database (as <c>seed --bulk</c>), after the same
    /// rooms' scripts are generated and sealed in memory alone (no database) — the CPU share of seeding.
    /// </summary>
    public static async Task SeedAsync(int rooms, int members, int events)
    {
        using var cluster = StartCluster();
        var database = $"bench_seed_{DateTime.UtcNow:yyyyMMddHHmmss}";
        var connection = cluster.CreateDatabase(database);
        try
        {
            var options = new SeedOptions { Rooms = rooms, Members = members, Events = events, Seed = 5 };
            using var key = Matrix.Rooms.Domain.Crypto.Ed25519SigningKey.Generate();
            var signer = new Matrix.Rooms.Domain.Crypto.ServerSignature(options.ServerName, key);
            var pool = new UserPool(options);
            var clock = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            long generated = 0;
            Parallel.For(0, rooms, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, index =>
                Interlocked.Add(ref generated, new RoomScript(options, index, pool, signer).Steps().Sum(s => s.Events.Count)));
            Console.WriteLine($"generated and sealed {generated:N0} events in memory on {Environment.ProcessorCount} cores: " +
                              $"{clock.Elapsed.TotalSeconds:F1} s = {generated / clock.Elapsed.TotalSeconds:N0} events/s, " +
                              $"{(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / generated:N0} µs CPU an event");
            cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var seeded = await Seed(connection, options);
            Console.WriteLine($"seed --bulk: {seeded.Events:N0} events in {seeded.Elapsed.TotalSeconds:F1} s = {seeded.EventsPerSecond:N0} events/s, " +
                              $"{(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / seeded.Events:N0} µs CPU an event (this process)");
        }
        finally
        {
            await DropAsync(cluster, database);
        }
    }

    public static async Task TimeTravelAsync(int events)
    {
        using var cluster = StartCluster();
        var database = $"bench_timetravel_{DateTime.UtcNow:yyyyMMddHHmmss}";
        try
        {
            await TimeTravelOnAsync(cluster.CreateDatabase(database), events);
        }
        finally
        {
            await DropAsync(cluster, database);
        }
    }

    private static async Task TimeTravelOnAsync(string connection, int events)
    {
        await using var store = NewStore(connection);
        Console.WriteLine($"Seeding one room of {events:N0} events through the bulk path ...");
        var room = (await Seed(store, new SeedOptions { Rooms = 1, Members = 50, Events = events, Seed = 4 })).RoomIds[0];
        var timeTravel = new RoomTimeTravel(store);
        await using var session = store.QuerySession();
        var middle = (await session.Events.FetchStreamAsync(room, version: events / 2, fromVersion: events / 2)).Single();
        var points = new (string Name, RoomPoint Point)[]
        {
            ("at_version 1,000", new RoomPoint.AtVersion(1_000)),
            ($"at_version {events / 2:N0}", new RoomPoint.AtVersion(events / 2)),
            ($"at_version {events:N0} (the end)", new RoomPoint.AtVersion(events)),
            ($"at instant of event {events / 2:N0}", new RoomPoint.AtInstant(Instant.FromDateTimeOffset(middle.Timestamp))),
        };
        await timeTravel.StateAtAsync(room, points[0].Point); // warm-up
        Console.WriteLine($"time travel in a room of {events:N0} events (7 runs each):");
        foreach (var (name, point) in points)
        {
            var times = new List<double>();
            RoomStateSummary? state = null;
            for (var i = 0; i < 7; i++)
            {
                var clock = Stopwatch.StartNew();
                state = (await timeTravel.StateAtAsync(room, point)).Value;
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            Console.WriteLine($"  {name,-36} median {times[3],7:N0} ms  min {times[0],7:N0} ms  (stream_version {state!.StreamVersion:N0}, {state.Members.Count} members)");
        }
    }

    private static async Task<SeedResult> Seed(string connection, SeedOptions options)
    {
        await using var store = NewStore(connection);
        return await Seed(store, options);
    }

    private static Task<SeedResult> Seed(IDocumentStore store, SeedOptions options) =>
        new RoomSeeder(store, new ServiceCollection().BuildServiceProvider(), NullLogger<RoomSeeder>.Instance)
            .SeedAsync(options, bulk: true, new Quiet(), CancellationToken.None);

    private static async Task Export(EventExporter exporter, string room, string path)
    {
        await using var file = File.Create(path);
        await exporter.ExportAsync(await exporter.ResolveRoomsAsync([room], CancellationToken.None), file, new Quiet(), CancellationToken.None);
    }

    private static DocumentStore NewStore(string connection) => DocumentStore.For(options =>
    {
        options.AddMatrixRooms(connection);
        options.Events.AppendMode = EventAppendMode.Rich;
    });

    /// <summary>
    /// The runtime settings of a tooling process (the rebuild children, here and in <see cref="RebuildComparison"/>):
    /// without tiered PGO, whose instrumented tier and re-JIT took ~40 % of the CPU of a 50,000-event rebuild
    /// (256 → 155 µs CPU an event, <c>rebuild 50000 50</c> with and without <c>DOTNET_TieredPGO=0</c>). A value set by
    /// the caller is kept.
    /// </summary>
    internal static void ToolingRuntime(ProcessStartInfo start)
    {
        if (Environment.GetEnvironmentVariable("DOTNET_TieredPGO") is null) start.Environment["DOTNET_TieredPGO"] = "0";
    }

    /// <summary>
    /// Runs this bench again as a child process (so a peak working set is the job's own) with the tooling's runtime
    /// settings (<see cref="ToolingRuntime"/>), echoes its output and returns the fields of its <c>RESULT</c> line.
    /// Under <c>dotnet run</c> the process is the app host; under <c>dotnet Matrix.Rooms.Bench.dll</c> it is dotnet itself.
    /// </summary>
    internal static async Task<string[]> RunChildAsync(string what, params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") start.ArgumentList.Add(typeof(ToolingScenarios).Assembly.Location);
        ToolingRuntime(start);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var child = Process.Start(start)!;
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        Console.Write(output);
        if (child.ExitCode != 0) throw new InvalidOperationException($"The {what} process failed with exit code {child.ExitCode}");
        return output.Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal)).Split(' ');
    }

    /// <summary>The bench databases hold millions of rows; each scenario drops its own when it is done.</summary>
    private static Task DropAsync(Scenarios.BenchCluster cluster, string database) => Task.Run(() => cluster.DropDatabase(database));

    internal static Scenarios.BenchCluster StartCluster() => Scenarios.BenchCluster.StartOrAttach();

    private sealed class Quiet : ITransferObserver
    {
        public void Started(long totalEvents, int rooms) { }
        public void Advance(long events) { }
        public void Note(string message) { }
    }
}
