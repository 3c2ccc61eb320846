using System.Text.RegularExpressions;
using Marten;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Tooling.Replay;
using Matrix.Rooms.Tooling.Seeding;

namespace Matrix.Rooms.Host.Tests.Tooling;

/// <summary>The bulk path (import, <c>seed --bulk</c>) on Marten's bulk event insert, and no SQL of ours writing Marten's tables.</summary>
public sealed class BulkRoomWriterTests
{
    [Fact]
    public async Task A_room_abandoned_after_several_COPY_blocks_leaves_nothing_and_a_committed_one_keeps_its_timestamps()
    {
        await using var store = ToolingFixture.NewStore("bulkroom");
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var options = new SeedOptions { Rooms = 2, Members = 4, Events = 60, Seed = 31 };
        var pool = new UserPool(options);
        var abandoned = new RoomScript(options, 0, pool);
        var kept = new RoomScript(options, 1, pool);
        await using var writer = new BulkRoomWriter(store, new ProjectionReplayer(ProjectionCatalog.All(store))) { BlockSize = 10 };

        var events = abandoned.Steps().SelectMany(s => s.Events).ToList();
        await using (var room = await writer.BeginRoomAsync(abandoned.RoomId, events.Count, default))
        {
            // Five blocks handed to Marten, then the room is given up (as an import does at a refused event).
            foreach (var ev in events.Take(50)) await room.AppendAsync(ev, ev.OriginServerTs.ToDateTimeOffset(), default);
        }

        var keptEvents = kept.Steps().SelectMany(s => s.Events).ToList();
        await using (var room = await writer.BeginRoomAsync(kept.RoomId, keptEvents.Count, default))
        {
            foreach (var ev in keptEvents) await room.AppendAsync(ev, ev.OriginServerTs.ToDateTimeOffset(), default);
            await room.CommitAsync(default);
        }

        await using var session = store.QuerySession();
        (await session.Events.FetchStreamStateAsync(abandoned.RoomId)).Should().BeNull();
        (await session.Events.QueryAllRawEvents().Where(e => e.StreamKey == abandoned.RoomId).CountAsync()).Should().Be(0);
        (await session.Query<RoomHead>().Where(h => h.Id == abandoned.RoomId).CountAsync()).Should().Be(0);

        var stored = await session.Events.FetchStreamAsync(kept.RoomId);
        stored.Select(e => e.Timestamp).Should().Equal(keptEvents.Select(e => e.OriginServerTs.ToDateTimeOffset()));
        stored.Select(e => e.Version).Should().Equal(Enumerable.Range(1, keptEvents.Count).Select(v => (long)v));
        stored.Select(e => e.Sequence).Should().BeInAscendingOrder();
        (await session.LoadAsync<RoomHead>(kept.RoomId))!.StreamVersion.Should().Be(keptEvents.Count);

        // A second writer that finds the room refuses it before writing anything.
        await FluentActions.Awaiting(() => writer.BeginRoomAsync(kept.RoomId, keptEvents.Count, default))
            .Should().ThrowAsync<RoomExistsException>();
    }

    [Fact]
    public async Task A_room_committed_with_fewer_events_than_it_was_begun_with_stores_nothing()
    {
        await using var store = ToolingFixture.NewStore("bulkcount");
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var options = new SeedOptions { Rooms = 1, Members = 3, Events = 20, Seed = 32 };
        var script = new RoomScript(options, 0, new UserPool(options));
        var events = script.Steps().SelectMany(s => s.Events).ToList();
        await using var writer = new BulkRoomWriter(store, null);

        await using (var room = await writer.BeginRoomAsync(script.RoomId, events.Count + 1, default))
        {
            foreach (var ev in events) await room.AppendAsync(ev, ev.OriginServerTs.ToDateTimeOffset(), default);
            await FluentActions.Awaiting(() => room.CommitAsync(default)).Should().ThrowAsync<InvalidOperationException>();
        }

        await using var session = store.QuerySession();
        (await session.Events.FetchStreamStateAsync(script.RoomId)).Should().BeNull();
    }

    /// <summary>
    /// Issue 14: no project writes Marten's tables (<c>mt_streams</c>, <c>mt_events</c>, its sequence, <c>mt_doc_*</c>,
    /// progression) with SQL of its own; the next Marten upgrade may change them. Reads for verification may stay.
    /// </summary>
    [Fact]
    public void No_source_file_writes_Martens_tables_with_its_own_SQL()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Matrix.Rooms.sln"))) root = root.Parent;
        root.Should().NotBeNull("the tests run inside the repository");
        var write = new Regex(@"\b(insert\s+into|update|delete\s+from|copy|truncate|nextval|setval)\b[^""\n;]*\bmt_\w+",
            RegexOptions.IgnoreCase);
        var offenders = Directory.EnumerateFiles(Path.Combine(root!.FullName, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line.Trim())))
            .Where(l => !l.Text.StartsWith("//", StringComparison.Ordinal) && l.Text.Contains('"') && write.IsMatch(l.Text))
            .Select(l => $"{Path.GetRelativePath(root.FullName, l.File)}:{l.Line}: {l.Text}")
            .ToList();
        offenders.Should().BeEmpty();
    }
}
