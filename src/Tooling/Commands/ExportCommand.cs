using JasperFx.CommandLine;
using Matrix.Rooms.Tooling.Transfer;

namespace Matrix.Rooms.Tooling.Commands;

public sealed class ExportInput : NetCoreInput
{
    [Description("Room to export (repeat for several); default: every room")]
    public string[] RoomFlag = [];

    [Description("File to write (JSON Lines); '-' or nothing writes to standard output")]
    public string OutputFlag = "-";

    [Description(ToolingShards.FlagHelp)]
    public int ShardFlag = -1;
}

[Description("Exports rooms' events as JSON Lines in the Matrix client event format, one room after another in timeline order",
    Name = "export")]
public sealed class ExportCommand : JasperFxAsyncCommand<ExportInput>
{
    public override Task<bool> Execute(ExportInput input) => ToolingCommand.RunAsync("export", input, async services =>
    {
        // Each shard's rooms (--shard: one shard's), one shard after another into the one output.
        var serving = services.GetRequiredService<Marten.IDocumentStore>();
        var count = await ToolingShards.CountAsync(serving);
        var shards = await ToolingShards.SelectAsync(serving, input.ShardFlag);
        try
        {
            var plans = new List<(EventExporter Exporter, IReadOnlyList<(string RoomId, long Events)> Rooms)>();
            foreach (var shard in shards)
            {
                var named = input.RoomFlag.Where(r => Projections.RoomPlacement.ShardOf(r, count) == shard.Shard).ToArray();
                if (input.RoomFlag.Length > 0 && named.Length == 0) continue;
                var exporter = ActivatorUtilities.CreateInstance<EventExporter>(services, shard.Store);
                plans.Add((exporter, await exporter.ResolveRoomsAsync(named, CancellationToken.None)));
            }
            if (plans.Sum(p => p.Rooms.Count) == 0) return ToolingCommand.Fail("export", "There are no rooms to export");

            var toStdout = input.OutputFlag is "-" or "";
            var path = toStdout ? null : CommandPaths.Resolve(input.OutputFlag);
            await using var output = toStdout ? Console.OpenStandardOutput() : File.Create(path!);
            var (rooms, events, seconds) = (0, 0L, 0.0);
            foreach (var (exporter, shardRooms) in plans.Where(p => p.Rooms.Count > 0))
            {
                var result = await ConsoleProgress.RunAsync("export", progress => exporter.ExportAsync(shardRooms, output, progress, CancellationToken.None));
                (rooms, events, seconds) = (rooms + result.Rooms, events + result.Events, seconds + result.Elapsed.TotalSeconds);
            }
            await Console.Error.WriteLineAsync(
                $"Exported {rooms} room{(rooms == 1 ? "" : "s")}, {events:N0} events in {seconds:F1} s{(path is null ? "" : $" to {path}")}" +
                (count > 1 ? $" from {plans.Count} shard{(plans.Count == 1 ? "" : "s")}" : ""));
            return true;
        }
        finally
        {
            foreach (var shard in shards) shard.Dispose();
        }
    });
}
