using System.Text.Json;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Visibility;

namespace Matrix.Rooms.Domain.Conformance;

/// <summary>One case of a <c>visibility-check</c> file: which events of the timeline <see cref="User"/> may see.</summary>
public sealed record VisibilityCheckCase(
    string Name,
    string? RoomVersion,
    IReadOnlyList<MatrixEvent> Timeline,
    string User,
    IReadOnlyList<string> Expected);

/// <summary>The outcome of one case. <see cref="Error"/> is set when the case could not be read (it then fails).</summary>
public sealed record VisibilityCheckResult(
    string Name,
    IReadOnlyList<string> Visible,
    IReadOnlyList<string> Expected,
    string? Error = null)
{
    /// <summary>The case passes when the visible event IDs equal <see cref="Expected"/> as sets.</summary>
    public bool Passed => Error is null && Visible.ToHashSet(StringComparer.Ordinal).SetEquals(Expected);

    public IEnumerable<string> Missing => Expected.Except(Visible, StringComparer.Ordinal);
    public IEnumerable<string> Unexpected => Visible.Except(Expected, StringComparer.Ordinal);
}

public sealed record VisibilityCheckReport(IReadOnlyList<VisibilityCheckResult> Results)
{
    public int Passed => Results.Count(r => r.Passed);
    public int Failed => Results.Count - Passed;
    public bool AllPassed => Failed == 0;

    /// <summary>The lines to print: one per case, then exactly <c>N passed, M failed</c>.</summary>
    public IReadOnlyList<string> Format() => VisibilityCheckSuite.Format(this);
}

/// <summary>
/// The <c>visibility-check FILE</c> contract, without the I/O: FILE is a JSON array of
/// <c>{name, room_version?, timeline: [events in order], user, visible: [event ids]}</c>. For each case the suite
/// computes the event IDs <c>user</c> may see under the history-visibility rules (their current membership is their
/// last member event in the timeline; none = peeking) and compares them, as a set, with <c>visible</c>.
/// <c>room_version</c> is read and shown but changes nothing: the history-visibility rules are the same in every room
/// version. The Host prints <see cref="Format"/> and exits non-zero when <see cref="VisibilityCheckReport.Failed"/> &gt; 0.
/// </summary>
public static class VisibilityCheckSuite
{
    /// <summary>Runs the cases of a file's text. Throws <see cref="JsonException"/> when it is not a JSON array.</summary>
    public static VisibilityCheckReport Run(string json) =>
        Run(JsonInputPolicy.ParseOrThrow(json) as JsonArray ?? throw new JsonException("A visibility-check file must hold a JSON array of cases."));

    public static VisibilityCheckReport Run(JsonArray cases) =>
        new(cases.Select((node, index) => RunCase(node, index)).ToList());

    /// <summary>Runs one case; a case that cannot be read fails with the reason instead of stopping the run.</summary>
    public static VisibilityCheckResult RunCase(JsonNode? node, int index)
    {
        var fallbackName = $"case {index + 1}";
        VisibilityCheckCase testCase;
        try
        {
            testCase = ParseCase(node, fallbackName);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            var name = (node as JsonObject)?["name"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : fallbackName;
            return new VisibilityCheckResult(name, [], [], e.Message);
        }
        return RunCase(testCase);
    }

    public static VisibilityCheckResult RunCase(VisibilityCheckCase testCase)
    {
        var visible = HistoryVisibilityFilter.VisibleEvents(testCase.Timeline, testCase.User)
            .Select(e => e.EventId)
            .ToList();
        return new VisibilityCheckResult(testCase.Name, visible, testCase.Expected);
    }

    public static VisibilityCheckCase ParseCase(JsonNode? node, string fallbackName = "case")
    {
        if (node is not JsonObject json)
            throw new JsonException("A case must be a JSON object.");

        var name = OptionalString(json, "name") ?? fallbackName;
        var roomVersion = OptionalString(json, "room_version");
        var user = OptionalString(json, "user") ?? throw new JsonException($"{name}: \"user\" (a user ID string) is required.");

        if (json["timeline"] is not JsonArray timelineJson)
            throw new JsonException($"{name}: \"timeline\" (an array of events) is required.");
        var timeline = new List<MatrixEvent>(timelineJson.Count);
        foreach (var eventJson in timelineJson)
        {
            if (eventJson is not JsonObject eventObject)
                throw new JsonException($"{name}: every timeline entry must be an event object.");
            timeline.Add(MatrixEvent.FromJson((JsonObject)eventObject.DeepClone()));
        }

        if (json["visible"] is not JsonArray visibleJson)
            throw new JsonException($"{name}: \"visible\" (an array of event IDs) is required.");
        var expected = visibleJson
            .Select(id => id is JsonValue v && v.TryGetValue<string>(out var s)
                ? s
                : throw new JsonException($"{name}: \"visible\" must hold event ID strings."))
            .ToList();

        return new VisibilityCheckCase(name, roomVersion, timeline, user, expected);
    }

    /// <summary>
    /// One line per case — <c>PASS</c> or <c>FAIL</c>, the name, and the event IDs the user may see (with, on a failure,
    /// the expected list and the difference) — then exactly <c>N passed, M failed</c>.
    /// </summary>
    public static IReadOnlyList<string> Format(VisibilityCheckReport report)
    {
        var lines = new List<string>(report.Results.Count + 1);
        foreach (var r in report.Results)
        {
            if (r.Error is not null)
            {
                lines.Add($"FAIL {r.Name}: cannot read the case: {r.Error}");
                continue;
            }
            var line = $"{(r.Passed ? "PASS" : "FAIL")} {r.Name}: visible [{string.Join(", ", r.Visible)}]";
            if (!r.Passed)
            {
                line += $"; expected [{string.Join(", ", r.Expected)}]";
                var missing = r.Missing.ToList();
                var unexpected = r.Unexpected.ToList();
                if (missing.Count > 0) line += $"; missing [{string.Join(", ", missing)}]";
                if (unexpected.Count > 0) line += $"; unexpected [{string.Join(", ", unexpected)}]";
            }
            lines.Add(line);
        }
        lines.Add($"{report.Passed} passed, {report.Failed} failed");
        return lines;
    }

    private static string? OptionalString(JsonObject json, string field) =>
        json[field] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => throw new JsonException($"\"{field}\" must be a string."),
        };
}
