using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Projections.TimeTravel;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Seeding;
using Matrix.Rooms.Tooling.Transfer;

namespace Matrix.Rooms.Host.Tests.Tooling;

/// <summary>Export as JSON Lines, import through the COPY path: round trips, and bad input refused per room with its line.</summary>
public sealed class ImportExportTests
{
    [Fact]
    public async Task An_export_imported_elsewhere_gives_the_same_events_read_models_and_history()
    {
        var source = ToolingFixture.NewStore("export");
        var seeded = await ToolingFixture.SeedBulkAsync(source, new SeedOptions { Rooms = 4, Members = 6, Events = 75, Seed = 7 });
        var exported = await ToolingFixture.ExportAsync(source);
        exported.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(4 * 75);
        var path = await WriteAsync(exported);

        var target = ToolingFixture.NewStore("import");
        var result = await ToolingFixture.Importer(target).ImportAsync(path, new SilentProgress(), default);
        result.Failures.Should().BeEmpty();
        (result.RoomsImported, result.EventsImported).Should().Be((4, 300L));

        (await ToolingFixture.ExportAsync(target)).Should().Be(exported);
        (await ToolingFixture.ReadModelAsync(target)).ShouldEqualReadModel(await ToolingFixture.ReadModelAsync(source));
        foreach (var room in seeded.RoomIds)
            foreach (var version in new long[] { 1, 9, 40, 75 })
                (await new RoomTimeTravel(target).StateAtAsync(room, new RoomPoint.AtVersion(version))).Value.ToJson().ToJsonString()
                    .Should().Be((await new RoomTimeTravel(source).StateAtAsync(room, new RoomPoint.AtVersion(version))).Value.ToJson().ToJsonString());

        var rebuilt = await ToolingFixture.Rebuilder(target).RebuildAsync(new RebuildOptions(), new SilentProgress(), default);
        rebuilt.Verification!.Passed.Should().BeTrue(string.Join("\n", rebuilt.Verification.Mismatches));
    }

    [Fact]
    public async Task Exporting_one_room_writes_only_its_events()
    {
        var source = ToolingFixture.NewStore("exportone");
        var seeded = await ToolingFixture.SeedBulkAsync(source, new SeedOptions { Rooms = 3, Members = 3, Events = 20, Seed = 2 });
        var lines = (await ToolingFixture.ExportAsync(source, [seeded.RoomIds[1]])).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(20);
        lines.Select(l => JsonNode.Parse(l)!["room_id"]!.GetValue<string>()).Should().AllBe(seeded.RoomIds[1]);
        JsonNode.Parse(lines[0])!["type"]!.GetValue<string>().Should().Be("m.room.create");
        // Bulk-seeded events are PDUs, exported as stored (with the engine's event_id and room_id).
        JsonNode.Parse(lines[0])!.AsObject().Select(p => p.Key).Should().BeSubsetOf(
                ["event_id", "room_id", "sender", "type", "state_key", "origin_server_ts", "content", "redacts", "unsigned",
                 "auth_events", "prev_events", "depth", "hashes", "signatures"])
            .And.Contain(["hashes", "signatures", "depth"]);
        await FluentActions.Awaiting(() => new EventExporter(source).ResolveRoomsAsync(["!nosuch:localhost"], default))
            .Should().ThrowAsync<ArgumentException>().WithMessage("Unknown room !nosuch:localhost");
    }

    public static TheoryData<string, Func<List<string>, int, int>, string> BadLines => new()
    {
        { "not JSON", (lines, at) => { lines[at] = "{\"event_id\": oops"; return at; }, "not JSON" },
        { "a field of the wrong type", (lines, at) => { lines[at] = Edit(lines[at], o => o["origin_server_ts"] = "yesterday"); return at; }, "origin_server_ts" },
        { "a bad sender", (lines, at) => { lines[at] = Edit(lines[at], o => o["sender"] = "mallory"); return at; }, "not a valid user ID" },
        { "refused by the rules", (lines, at) =>
            {
                // Not a PDU any more (a PDU edited after signing fails its hash first: below), so the rules decide it.
                lines[at] = Edit(lines[at], o =>
                {
                    o["type"] = "m.room.message"; o.Remove("state_key"); o["sender"] = "@mallory:localhost"; o["content"] = new JsonObject { ["body"] = "hi" };
                    foreach (var pduField in new[] { "hashes", "signatures", "auth_events", "prev_events", "depth" }) o.Remove(pduField);
                });
                return at;
            }, "refused by the authorization rules" },
        { "a PDU changed after it was signed", (lines, at) => { lines[at] = Edit(lines[at], o => o["origin_server_ts"] = 1); return at; }, "does not verify" },
        { "a repeated event", (lines, at) => { lines[at] = lines[at - 1]; return at; }, "appears twice" },
        { "another room's id inside the room", (lines, at) => { lines[at] = Edit(lines[at], o => o["room_id"] = "!elsewhere:localhost"); return at; }, "not consecutive" },
    };

    [Theory]
    [MemberData(nameof(BadLines))]
    public async Task A_bad_line_is_reported_with_its_number_and_reason_and_nothing_of_its_room_is_left(
        string problem, Func<List<string>, int, int> corrupt, string reason)
    {
        var source = ToolingFixture.NewStore("badsrc");
        var seeded = await ToolingFixture.SeedBulkAsync(source, new SeedOptions { Rooms = 3, Members = 4, Events = 30, Seed = 19 });
        var lines = (await ToolingFixture.ExportAsync(source)).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        var broken = seeded.RoomIds.Count > 0 ? JsonNode.Parse(lines[30])!["room_id"]!.GetValue<string>() : "";
        var badLine = corrupt(lines, 30 + 17) + 1;

        var target = ToolingFixture.NewStore("badimp");
        var result = await ToolingFixture.Importer(target).ImportAsync(await WriteAsync(string.Join('\n', lines) + "\n"), new SilentProgress(), default);

        var failure = result.Failures.Should().ContainSingle(f => f.RoomId == broken, problem).Subject;
        failure.Reason.Should().Contain(reason);
        if (reason != "not consecutive") failure.Line.Should().Be(badLine);
        result.RoomsImported.Should().Be(2);

        await using var session = target.QuerySession();
        (await session.Events.FetchStreamStateAsync(broken)).Should().BeNull("a room is imported whole or not at all");
        (await session.LoadAsync<RoomHead>(broken)).Should().BeNull();
        (await session.Query<RoomStateEntry>().Where(e => e.RoomId == broken).CountAsync()).Should().Be(0);
        (await session.Query<RoomMember>().Where(e => e.RoomId == broken).CountAsync()).Should().Be(0);
        foreach (var other in seeded.RoomIds.Where(r => r != broken))
            (await session.Events.FetchStreamStateAsync(other))!.Version.Should().Be(30);
    }

    [Fact]
    public async Task Importing_a_room_that_exists_changes_nothing_and_says_so()
    {
        var store = ToolingFixture.NewStore("twice");
        await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 2, Members = 3, Events = 15, Seed = 23 });
        var exported = await ToolingFixture.ExportAsync(store);
        var before = await ToolingFixture.ReadModelAsync(store);
        var result = await ToolingFixture.Importer(store).ImportAsync(await WriteAsync(exported), new SilentProgress(), default);
        result.RoomsImported.Should().Be(0);
        result.Failures.Should().HaveCount(2).And.AllSatisfy(f => f.Reason.Should().Contain("already exists"));
        (await ToolingFixture.ExportAsync(store)).Should().Be(exported);
        (await ToolingFixture.ReadModelAsync(store)).ShouldEqualReadModel(before);
    }

    [Fact]
    public async Task Missing_and_empty_files_are_clear_errors()
    {
        var store = ToolingFixture.NewStore("nofile");
        var importer = ToolingFixture.Importer(store);
        await FluentActions.Awaiting(() => importer.ImportAsync("/nonexistent/rooms.jsonl", new SilentProgress(), default))
            .Should().ThrowAsync<FileNotFoundException>().WithMessage("No such file: /nonexistent/rooms.jsonl");
        await FluentActions.Awaiting(async () => await importer.ImportAsync(await WriteAsync("\n\n"), new SilentProgress(), default))
            .Should().ThrowAsync<InvalidDataException>().WithMessage("*holds no events");
    }

    private static string Edit(string line, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(line)!.AsObject();
        edit(json);
        return json.ToJsonString();
    }

    private static async Task<string> WriteAsync(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"matrix-rooms-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(path, text);
        return path;
    }
}
