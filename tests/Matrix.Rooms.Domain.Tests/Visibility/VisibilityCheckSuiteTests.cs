using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Conformance;

namespace Matrix.Rooms.Domain.Tests.Visibility;

public class VisibilityCheckSuiteTests
{
    /// <summary>The vector file sits next to this source file (found without copying it to the output folder).</summary>
    private static string VectorFile([CallerFilePath] string here = "") =>
        Path.Combine(Path.GetDirectoryName(here)!, "visibility-vectors.json");

    [Fact]
    public void Every_sample_vector_passes()
    {
        var report = VisibilityCheckSuite.Run(File.ReadAllText(VectorFile()));
        var lines = report.Format();

        report.Results.Should().HaveCountGreaterThanOrEqualTo(12);
        lines.Where(l => !l.StartsWith("PASS ", StringComparison.Ordinal)).SkipLast(1)
            .Should().BeEmpty();
        lines[^1].Should().Be($"{report.Results.Count} passed, 0 failed");
    }

    [Fact]
    public void Format_prints_the_visible_ids_per_case_and_the_closing_line()
    {
        var cases = JsonNode.Parse("""
            [
              { "name": "peeking sees world_readable", "room_version": "10", "user": "@bob:x.org", "visible": ["$hv", "$m"],
                "timeline": [
                  { "event_id": "$c", "type": "m.room.create", "state_key": "", "sender": "@a:x.org", "room_id": "!r:x.org", "origin_server_ts": 1, "content": {} },
                  { "event_id": "$hv", "type": "m.room.history_visibility", "state_key": "", "sender": "@a:x.org", "room_id": "!r:x.org", "origin_server_ts": 2, "content": { "history_visibility": "world_readable" } },
                  { "event_id": "$m", "type": "m.room.message", "sender": "@a:x.org", "room_id": "!r:x.org", "origin_server_ts": 3, "content": { "body": "hi" } }
                ] },
              { "name": "wrong expectation", "user": "@bob:x.org", "visible": ["$c"],
                "timeline": [
                  { "event_id": "$c", "type": "m.room.create", "state_key": "", "sender": "@a:x.org", "room_id": "!r:x.org", "origin_server_ts": 1, "content": {} }
                ] },
              { "name": "broken", "user": "@bob:x.org", "timeline": [] }
            ]
            """)!.AsArray();

        var report = VisibilityCheckSuite.Run(cases);

        report.Format().Should().Equal(
            "PASS peeking sees world_readable: visible [$hv, $m]",
            "FAIL wrong expectation: visible []; expected [$c]; missing [$c]",
            "FAIL broken: cannot read the case: broken: \"visible\" (an array of event IDs) is required.",
            "1 passed, 2 failed");
        report.Passed.Should().Be(1);
        report.Failed.Should().Be(2);
    }

    [Fact]
    public void Visible_lists_are_compared_as_sets()
    {
        var result = new VisibilityCheckResult("order", ["$a", "$b"], ["$b", "$a"]);
        result.Passed.Should().BeTrue();
    }

    [Fact]
    public void A_file_that_is_not_an_array_is_an_error()
    {
        var run = () => VisibilityCheckSuite.Run("""{ "name": "x" }""");
        run.Should().Throw<JsonException>();
    }

    [Fact]
    public void An_empty_file_has_the_closing_line_only() =>
        VisibilityCheckSuite.Run("[]").Format().Should().Equal("0 passed, 0 failed");
}
