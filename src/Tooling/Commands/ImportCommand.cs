using JasperFx.CommandLine;
using Matrix.Rooms.Tooling.Transfer;

namespace Matrix.Rooms.Tooling.Commands;

public sealed class ImportInput : NetCoreInput
{
    [Description("JSON Lines file written by 'export' (one Matrix event per line, each room's events together, in order)")]
    public string File = "";

    [Description("Write the events only (Marten's bulk event insert alone) and leave the read models to a 'rebuild' afterwards")]
    public bool DeferProjectionsFlag;
}

[Description("Imports JSON Lines through Marten's bulk event insert, checking every event against the authorization rules; all or nothing per room",
    Name = "import")]
public sealed class ImportCommand : JasperFxAsyncCommand<ImportInput>
{
    public override Task<bool> Execute(ImportInput input) => ToolingCommand.RunAsync("import", input, async services =>
    {
        var path = CommandPaths.Resolve(input.File);
        var importer = ActivatorUtilities.GetServiceOrCreateInstance<EventImporter>(services);
        var result = await ConsoleProgress.RunAsync("import", progress =>
            importer.ImportAsync(path, progress, CancellationToken.None, input.DeferProjectionsFlag));
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
}
