using JasperFx.CommandLine;
using Matrix.Rooms.Domain.Conformance;

namespace Matrix.Rooms.Host.Commands;

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
        if (!System.IO.File.Exists(input.File))
        {
            Console.Error.WriteLine($"No such file: {input.File}");
            return false;
        }
        var report = VisibilityCheckSuite.Run(System.IO.File.ReadAllText(input.File));
        foreach (var line in report.Format()) Console.WriteLine(line);
        return report.Failed == 0;
    }
}
