using System.Text.Json;
using System.Text.Json.Nodes;
using JasperFx.CommandLine;
using Matrix.Rooms.Domain.Conformance;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Tooling.Commands;

public sealed class AuthCheckInput
{
    [Description("JSON array of authorization cases (the gomatrixserverlib-eventauth.json shape)")]
    public string File = "";

    [Description("Single-event form: the state before the event (an array of events, or an auth_events object)")]
    public string? StateFlag;

    [Description("Single-event form: the event to decide")]
    public string? EventFlag;

    [Description("Single-event form: room version (default: the create event's, else 1)")]
    public string? RoomVersionFlag;
}

[Description("Decides events with the Matrix authorization rules: one line per event with the deciding rule, then 'N passed, M failed'",
    Name = "auth-check")]
public sealed class AuthCheckCommand : JasperFxCommand<AuthCheckInput>
{
    public AuthCheckCommand()
    {
        Usage("Run a file of cases").Arguments(x => x.File);
        Usage("Explain one decision").Arguments().ValidFlags(x => x.StateFlag!, x => x.EventFlag!, x => x.RoomVersionFlag!);
    }

    public override bool Execute(AuthCheckInput input)
    {
        try
        {
            if (input.EventFlag is not null) return ExplainOne(input);
            var report = AuthCheckSuite.Run(Read(input.File));
            foreach (var line in AuthCheckSuite.Format(report)) Console.WriteLine(line);
            return report.AllPassed;
        }
        catch (Exception e) when (e is JsonException or IOException or InvalidOperationException)
        {
            Console.Error.WriteLine($"auth-check: {e.Message}");
            return false;
        }
    }

    private static bool ExplainOne(AuthCheckInput input)
    {
        var state = input.StateFlag is null ? null : JsonInputPolicy.ParseOrThrow(Read(input.StateFlag));
        var ev = JsonInputPolicy.ParseOrThrow(Read(input.EventFlag!)) as JsonObject ?? throw new JsonException("The event must be a JSON object");
        var decision = AuthCheckSuite.ExplainOne(state, ev, input.RoomVersionFlag);
        Console.WriteLine($"{(decision.Allowed ? "allowed" : "refused")} by {decision.Rule}: {decision.Explanation}");
        return true;
    }

    private static string Read(string path) =>
        CommandPaths.Resolve(path) is var resolved && System.IO.File.Exists(resolved)
            ? System.IO.File.ReadAllText(resolved)
            : throw new IOException($"No such file: {path}");
}
