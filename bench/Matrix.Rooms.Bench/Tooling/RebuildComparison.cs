using System.Diagnostics;
using System.Globalization;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Matrix.Rooms.Bench.All;
using Matrix.Rooms.Projections;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Replay;
using Matrix.Rooms.Tooling.Seeding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Matrix.Rooms.Bench.Tooling;

/// <summary>
/// <c>rebuild-compare [events] [rooms]</c> (issue 14, item 4): one seeded database (default 1,000,000 events over 1,000
/// rooms, the tooling's bulk seeder), then the same projections rebuilt three ways, each in a process of its own so its
/// peak working set is its own:
/// <list type="bullet">
/// <item><c>custom</c>: the tooling's rebuild (<see cref="ProjectionRebuilder"/>: in-memory replay, build beside, switch),
/// without its sampled verification so that all three do the same work;</item>
/// <item><c>marten-default</c>: Marten's daemon, <c>IProjectionDaemon.RebuildProjectionAsync</c> per projection, one after
/// the other, default settings (what <c>projections rebuild</c> does);</item>
/// <item><c>marten-tuned</c>: the same daemon with Marten's public rebuild options: <c>Projections.RebuildWithBulkCopy</c>,
/// every projection's <c>Options.BatchSize</c> and <c>RebuildFlushThreshold</c> raised, <c>MaxConcurrentRebuildsPerDatabase</c>
/// = the projection count, and every projection rebuilt at once.</item>
/// </list>
/// Prints events/s and peak MiB of each and <c>rebuild_ratio_vs_marten</c> = custom events/s ÷ the best Marten events/s.
/// </summary>
public static class RebuildComparison
{
    public static readonly string[] Modes = ["custom", "marten-default", "marten-tuned"];

    public static async Task RunAsync(int events, int rooms)
    {
        using var cluster = ToolingScenarios.StartCluster();
        var database = $"bench_rbcompare_{DateTime.UtcNow:yyyyMMddHHmmss}";
        var connection = cluster.CreateDatabase(database);
        try
        {
            var perRoom = Math.Max(1, events / rooms);
            Console.WriteLine($"Seeding {rooms:N0} rooms x {perRoom:N0} events through the bulk path ...");
            // Seeded in a process of its own (the same store options as the untuned daemon's), with the tooling's runtime settings.
            var seeded = await ToolingScenarios.SeedInChildAsync(connection, rooms, 20, perRoom, 1);
            Console.WriteLine($"Seeded {seeded.Events:N0} events in {seeded.Seconds:F1} s");

            var results = new Dictionary<string, (double Rate, double PeakMiB, double Seconds)>();
            foreach (var mode in Modes)
            {
                // The same runtime settings for every way, so the ratio compares the rebuilds.
                var line = await ToolingScenarios.RunChildAsync($"{mode} rebuild", "rebuild-compare-run", connection, mode);
                results[mode] = (double.Parse(line[3], CultureInfo.InvariantCulture), double.Parse(line[4], CultureInfo.InvariantCulture),
                    double.Parse(line[5], CultureInfo.InvariantCulture));
            }

            Console.WriteLine();
            Console.WriteLine($"rebuild of every projection over the same {events:N0} seeded events ({rooms:N0} rooms):");
            Console.WriteLine($"  {"mode",-16} {"seconds",9} {"events/s",10} {"peak MiB",9}");
            foreach (var (mode, r) in results)
                Console.WriteLine($"  {mode,-16} {r.Seconds,9:F1} {r.Rate,10:N0} {r.PeakMiB,9:N0}");
            var bestMarten = Math.Max(results["marten-default"].Rate, results["marten-tuned"].Rate);
            Console.WriteLine($"rebuild_ratio_vs_marten {results["custom"].Rate / bestMarten:F2} (custom events/s / best Marten events/s; above 2 keeps the custom replay)");
            BenchMetrics.Record("rebuild_compare_custom_events_per_s", results["custom"].Rate, "events/s", note: $"the tooling's rebuild, no verification, {events:N0} events");
            BenchMetrics.Record("rebuild_compare_marten_default_events_per_s", results["marten-default"].Rate, "events/s", note: "Marten's daemon, default settings, same events");
            BenchMetrics.Record("rebuild_compare_marten_tuned_events_per_s", results["marten-tuned"].Rate, "events/s", note: "Marten's daemon, bulk copy, bigger batches, all at once");
            BenchMetrics.Record("rebuild_ratio_vs_marten", results["custom"].Rate / bestMarten, "x", Target.AtLeast(2),
                "custom ÷ best Marten; issue 14 keeps the custom replay only above 2");
        }
        finally
        {
            await Task.Run(() => cluster.DropDatabase(database));
        }
    }

    /// <summary>The child process: one rebuild of every projection; prints <c>RESULT mode events events/s peakMiB seconds</c>.</summary>
    public static async Task<int> RunOneAsync(string connection, string mode)
    {
        await using var store = NewStore(connection, tuned: mode == "marten-tuned");
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await using var session = store.QuerySession();
        var events = await session.Events.QueryAllRawEvents().CountAsync();
        var clock = Stopwatch.StartNew();
        switch (mode)
        {
            case "custom":
                var result = await new ProjectionRebuilder(store, NullLogger<ProjectionRebuilder>.Instance)
                    .RebuildAsync(new RebuildOptions { VerifySample = 0 }, new QuietRebuild(), CancellationToken.None);
                if (!result.Switched) throw new InvalidOperationException("The custom rebuild did not switch");
                break;
            case "marten-default":
            {
                using var daemon = await store.BuildProjectionDaemonAsync();
                foreach (var projection in ProjectionCatalog.All(store))
                    await daemon.RebuildProjectionAsync(projection.Name, TimeSpan.FromHours(2), CancellationToken.None);
                break;
            }
            case "marten-tuned":
            {
                using var daemon = await store.BuildProjectionDaemonAsync();
                await Task.WhenAll(ProjectionCatalog.All(store)
                    .Select(p => daemon.RebuildProjectionAsync(p.Name, TimeSpan.FromHours(2), CancellationToken.None)));
                break;
            }
            default:
                throw new ArgumentException($"Unknown mode {mode}; one of {string.Join(", ", Modes)}");
        }
        clock.Stop();
        var peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024);
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT {mode} {events} {events / clock.Elapsed.TotalSeconds:F0} {peak:F0} {clock.Elapsed.TotalSeconds:F1}"));
        return 0;
    }

    private static DocumentStore NewStore(string connection, bool tuned) => DocumentStore.For(options =>
    {
        options.AddMatrixRooms(connection);
        options.Events.AppendMode = EventAppendMode.Rich;
        if (!tuned) return;
        // Marten's public rebuild knobs: COPY for insert-only batches, bigger event pages, deferred flushes, all projections at once.
        options.Projections.RebuildWithBulkCopy = true;
        var projections = options.Projections.All.OfType<ProjectionBase>().ToList();
        options.Projections.MaxConcurrentRebuildsPerDatabase = projections.Count;
        foreach (var projection in projections)
        {
            projection.Options.BatchSize = 10_000;
            projection.Options.RebuildFlushThreshold = 10_000;
        }
    });

    private sealed class QuietRebuild : IRebuildObserver
    {
        public void Planned(RebuildPlan plan) { }
        public void Progress(long eventsDone, long eventsTotal) { }
        public void Note(string message) { }
    }

    private sealed class QuietTransfer : Matrix.Rooms.Tooling.Transfer.ITransferObserver
    {
        public void Started(long totalEvents, int rooms) { }
        public void Advance(long events) { }
        public void Note(string message) { }
    }
}
