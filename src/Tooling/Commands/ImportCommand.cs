using JasperFx.CommandLine;
using Matrix.Rooms.Tooling.Transfer;

namespace Matrix.Rooms.Tooling.Commands;

public sealed class ImportInput : NetCoreInput
{
    [Description("JSON Lines file written by 'export' (one Matrix event per line, each room's events together, in order)")]
    public string File = "";

    [Description("Write the events only (Marten's bulk event insert alone) and leave the read models to a 'rebuild' afterwards")]
    public bool DeferProjectionsFlag;

    [Description("Import only the rooms the placement rule puts in this shard (0 = the main database); default: each room into its own shard")]
    public int ShardFlag = -1;
}

[Description("Imports JSON Lines through Marten's bulk event insert, checking every event against the authorization rules; all or nothing per room",
    Name = "import")]
public sealed class ImportCommand : JasperFxAsyncCommand<ImportInput>
{
    public override Task<bool> Execute(ImportInput input) => ToolingCommand.RunAsync("import", input, async services =>
    {
        var path = CommandPaths.Resolve(input.File);
        var serving = services.GetRequiredService<Marten.IDocumentStore>();
        var count = await ToolingShards.CountAsync(serving);
        ImportResult result;
        if (count <= 1)
        {
            if (input.ShardFlag > 0) return ToolingCommand.Fail("import", $"--shard {input.ShardFlag}: there is one shard (0)");
            var importer = ActivatorUtilities.GetServiceOrCreateInstance<EventImporter>(services);
            result = await ConsoleProgress.RunAsync("import", progress =>
                importer.ImportAsync(path, progress, CancellationToken.None, input.DeferProjectionsFlag));
        }
        else result = await ImportShardedAsync(services, serving, path, count, input);
        Console.WriteLine($"Imported {result.RoomsImported} room{(result.RoomsImported == 1 ? "" : "s")}, {result.EventsImported:N0} events in {result.Elapsed.TotalSeconds:F1} s " +
                          $"= {result.EventsPerSecond:N0} events/s " +
                          (input.DeferProjectionsFlag
                              ? "(events only: run 'rebuild' to build the read models; until then readers do not see these rooms)"
                              : "(read models written after each room's events)"));
        if (result.Failures.Count == 0) return true;
        Console.Error.WriteLine($"{result.Failures.Count} room{(result.Failures.Count == 1 ? "" : "s")} not imported (nothing of {(result.Failures.Count == 1 ? "it" : "them")} was written):");
        foreach (var failure in result.Failures) Console.Error.WriteLine($"  {failure}");
        return false;
    });

    /// <summary>
    /// Sharded: the file's lines split by the placement rule of each line's <c>room_id</c> (a line without one goes with
    /// the room before it; the importer reports it) into one file per shard, each imported into its shard's database.
    /// Failures name lines of those per-shard files.
    /// </summary>
    private static async Task<ImportResult> ImportShardedAsync(IServiceProvider services, Marten.IDocumentStore serving, string path, int count, ImportInput input)
    {
        var directory = Directory.CreateTempSubdirectory("matrix-rooms-import-");
        try
        {
            var writers = Enumerable.Range(0, count).Select(i => new StreamWriter(Path.Combine(directory.FullName, $"shard{i}.jsonl"))).ToArray();
            var current = 0;
            foreach (var line in File.ReadLines(path))
            {
                if (EventImporter.ParseLine(line).Event is { RoomId: { Length: > 0 } roomId }) current = Projections.RoomPlacement.ShardOf(roomId, count);
                await writers[current].WriteLineAsync(line);
            }
            foreach (var writer in writers) await writer.DisposeAsync();

            var (rooms, events, failures, elapsed) = (0, 0L, new List<ImportFailure>(), TimeSpan.Zero);
            foreach (var shard in await ToolingShards.SelectAsync(serving, input.ShardFlag))
                using (shard)
                {
                    var importer = ActivatorUtilities.CreateInstance<EventImporter>(services, shard.Store);
                    var part = await ConsoleProgress.RunAsync("import", progress =>
                        importer.ImportAsync(Path.Combine(directory.FullName, $"shard{shard.Shard}.jsonl"), progress, CancellationToken.None, input.DeferProjectionsFlag));
                    (rooms, events, elapsed) = (rooms + part.RoomsImported, events + part.EventsImported, elapsed + part.Elapsed);
                    failures.AddRange(part.Failures.Select(f => f with { Reason = $"shard {shard.Shard}: {f.Reason}" }));
                }
            return new ImportResult(rooms, events, failures, elapsed);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
