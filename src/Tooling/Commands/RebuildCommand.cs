using JasperFx.CommandLine;
using Marten;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Replay;

namespace Matrix.Rooms.Tooling.Commands;

public sealed class RebuildInput : NetCoreInput
{
    [Description("Projection to rebuild (repeat for several); default: all of them")]
    public string[] ProjectionFlag = [];

    [Description("Events per transaction (memory grows with this, not with the number of events)")]
    public int PageSizeFlag = 10_000;

    [Description("No effect, kept for scripts: a rebuild always builds beside the serving tables and switches them in at the end")]
    public bool NoWipeFlag;

    [Description("Rooms to check against live aggregation before switching (0 = skip)")]
    public int VerifyFlag = 20;

    [Description("List the registered projections and exit")]
    public bool ListFlag;

    [Description("Rebuild nothing: only check --verify rooms (default 20) against live aggregation")]
    public bool VerifyOnlyFlag;

    [Description("After rebuilding, keep applying new events until Ctrl+C or SIGTERM (blue/green: follow the old servers' appends)")]
    public bool FollowFlag;

    [Description(ToolingShards.FlagHelp)]
    public int ShardFlag = -1;
}

[Description("Rebuilds one or all projections from the event store beside the serving tables, with progress, events/s and ETA, verifies a sample of rooms against live aggregation, then switches the rebuilt tables in",
    Name = "rebuild")]
public sealed class RebuildCommand : JasperFxAsyncCommand<RebuildInput>
{
    public override Task<bool> Execute(RebuildInput input) => ToolingCommand.RunAsync("rebuild", input, async services =>
    {
        var store = services.GetRequiredService<IDocumentStore>();
        if (input.ListFlag)
        {
            var all = ProjectionCatalog.All(store);
            Console.WriteLine($"{"projection",-22} {"version",-8} {"lifecycle",-10} {"progression rows",-28} documents (replaced by a rebuild)");
            foreach (var p in all)
                Console.WriteLine($"{p.Name,-22} {p.Version,-8} {p.Lifecycle,-10} {string.Join(", ", p.ShardIdentities),-28} " +
                                  string.Join(", ", p.PublishedTypes.Select(t => $"{t.Name} ({new DocumentTables(store).TableFor(t)})")));
            return true;
        }

        // Rooms over several databases: each shard rebuilt (or verified) in turn, on its own database.
        var shards = await ToolingShards.SelectAsync(store, input.ShardFlag);
        if (input.FollowFlag && shards.Count > 1)
            return ToolingCommand.Fail("rebuild", "--follow follows one database: name it with --shard");
        var ok = true;
        foreach (var shard in shards)
            using (shard)
            {
                if (shards.Count > 1 || input.ShardFlag >= 0) Console.WriteLine($"shard {shard.Shard}:");
                ok &= await RebuildAsync(services, shard.Store, input);
            }
        return ok;
    });

    private static async Task<bool> RebuildAsync(IServiceProvider services, IDocumentStore store, RebuildInput input)
    {
        if (input.VerifyOnlyFlag)
        {
            var verifier = new RebuildVerifier(store);
            var rooms = await verifier.SampleRoomsAsync(input.VerifyFlag, CancellationToken.None);
            var report = await verifier.VerifyAsync(ProjectionCatalog.Select(store, input.ProjectionFlag), rooms, CancellationToken.None);
            return Report(report);
        }

        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true; // finish the round, mark progression, verify
            stop.Cancel();
        };
        using var onTerm = input.FollowFlag
            ? System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            })
            : null;
        if (input.FollowFlag) Console.CancelKeyPress += onCancel;
        var options = new RebuildOptions
        {
            Projections = input.ProjectionFlag, PageSize = input.PageSizeFlag, VerifySample = input.VerifyFlag,
            FollowUntil = input.FollowFlag ? stop.Token : null,
        };
        var result = await ConsoleProgress.RunAsync("rebuild", progress =>
            ActivatorUtilities.CreateInstance<ProjectionRebuilder>(services, store).RebuildAsync(options, progress, CancellationToken.None));

        Console.WriteLine((result.Switched ? "Rebuilt and switched in " : "Rebuilt, not switched: ") + string.Join(", ", result.Replayed) +
                          (result.RebuiltByDaemon.Count > 0 ? $"; with the Marten daemon: {string.Join(", ", result.RebuiltByDaemon)}" : ""));
        Console.WriteLine($"{result.Events:N0} events in {result.Elapsed.TotalSeconds:F1} s = {result.EventsPerSecond:N0} events/s; " +
                          $"{result.DocumentsWritten:N0} documents written; peak working set {result.PeakWorkingSetBytes / (1024.0 * 1024):N0} MiB");
        if (result.RoomsCaughtUp > 0 || result.GapsFilled > 0)
            Console.WriteLine($"{result.RoomsCaughtUp} rooms caught up after the main pass, {result.GapsFilled} late-committed gaps filled");
        var verified = result.Verification is not { } verification || Report(verification);
        if (!result.Switched)
            return ToolingCommand.Fail("rebuild", "the rebuilt documents differ from live aggregation: nothing was switched, the read models are as they were");
        return verified;
    }

    private static bool Report(VerificationReport verification)
    {
        Console.WriteLine($"Verified {verification.RoomsChecked} room{(verification.RoomsChecked == 1 ? "" : "s")} ({verification.DocumentsChecked:N0} documents) against live aggregation: " +
                          (verification.Passed ? "all equal" : $"{verification.Mismatches.Count} differences"));
        foreach (var mismatch in verification.Mismatches.Take(20)) Console.WriteLine($"  {mismatch}");
        return verification.Passed;
    }
}
