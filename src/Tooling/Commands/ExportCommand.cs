using JasperFx.CommandLine;
using Matrix.Rooms.Tooling.Transfer;

namespace Matrix.Rooms.Tooling.Commands;

public sealed class ExportInput : NetCoreInput
{
    [Description("Room to export (repeat for several); default: every room")]
    public string[] RoomFlag = [];

    [Description("File to write (JSON Lines); '-' or nothing writes to standard output")]
    public string OutputFlag = "-";
}

[Description("Exports rooms' events as JSON Lines in the Matrix client event format, one room after another in timeline order",
    Name = "export")]
public sealed class ExportCommand : JasperFxAsyncCommand<ExportInput>
{
    public override Task<bool> Execute(ExportInput input) => ToolingCommand.RunAsync("export", input, async services =>
    {
        var exporter = ActivatorUtilities.GetServiceOrCreateInstance<EventExporter>(services);
        var rooms = await exporter.ResolveRoomsAsync(input.RoomFlag, CancellationToken.None);
        if (rooms.Count == 0) return ToolingCommand.Fail("export", "There are no rooms to export");

        var toStdout = input.OutputFlag is "-" or "";
        var path = toStdout ? null : CommandPaths.Resolve(input.OutputFlag);
        await using var output = toStdout ? Console.OpenStandardOutput() : File.Create(path!);
        var result = await ConsoleProgress.RunAsync("export", progress => exporter.ExportAsync(rooms, output, progress, CancellationToken.None));
        await Console.Error.WriteLineAsync(
            $"Exported {result.Rooms} room{(result.Rooms == 1 ? "" : "s")}, {result.Events:N0} events in {result.Elapsed.TotalSeconds:F1} s{(path is null ? "" : $" to {path}")}");
        return true;
    });
}
