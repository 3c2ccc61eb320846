using JasperFx.CommandLine;
using Matrix.Rooms.Domain.Conformance;

namespace Matrix.Rooms.Tooling.Commands;

public sealed class FileInput
{
    [Description("Path to the JSON file of cases")]
    public string File = "";
}

[Description("Runs history-visibility cases: per case the event IDs the user may see, then 'N passed, M failed'", Name = "visibility-check")]
public sealed class VisibilityCheckCommand : JasperFxCommand<FileInput>
{
    public override bool Execute(FileInput input)
    {
        var path = CommandPaths.Resolve(input.File);
        if (!System.IO.File.Exists(path))
        {
            Console.Error.WriteLine($"No such file: {input.File}");
            return false;
        }
        VisibilityCheckReport report;
        try
        {
            report = VisibilityCheckSuite.Run(System.IO.File.ReadAllText(path));
        }
        catch (System.Text.Json.JsonException e)
        {
            Console.Error.WriteLine($"visibility-check: {input.File} is not a valid case file: {e.Message}");
            return false;
        }
        foreach (var line in report.Format()) Console.WriteLine(line);
        return report.Failed == 0;
    }
}
