using System.Text.Json.Nodes;
using JasperFx.Events.Projections;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Projections;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Replay;
using Matrix.Rooms.Tooling.Seeding;
using Npgsql;

namespace Matrix.Rooms.Host.Tests.Tooling;

/// <summary>
/// Properties of the read models over random rooms (Bogus, one seed per case): what the inline projections wrote while
/// the commands ran = what the bulk rebuild writes = what Marten's own daemon rebuild writes = what live aggregation
/// says; and every stored event passes the authorization rules against the state before it.
/// </summary>
[Collection(ToolingCollection.Name)]
public sealed class RebuildTests(ToolingFixture fixture)
{
    [Theory]
    [InlineData(11)]
    [InlineData(23)]
    [InlineData(47)]
    public async Task Inline_equals_rebuilt_equals_daemon_rebuilt_equals_live_for_rooms_seeded_through_the_commands(int seed)
    {
        var seeded = await fixture.Service<RoomSeeder>().SeedAsync(
            new SeedOptions { Rooms = 3, Members = 6, Events = 70, Seed = seed }, bulk: false, new SilentProgress(), CancellationToken.None);
        seeded.Refused.Should().Be(0);
        var store = fixture.Store;
        var inline = await ToolingFixture.ReadModelAsync(store);

        var rebuilt = await ToolingFixture.Rebuilder(store).RebuildAsync(new RebuildOptions { PageSize = 37, VerifySample = 50 }, new SilentProgress(), default);
        rebuilt.Verification!.Mismatches.Should().BeEmpty();
        rebuilt.RebuiltByDaemon.Should().BeEmpty("every projection is an event projection the replay can run");
        (await ToolingFixture.ReadModelAsync(store)).ShouldEqualReadModel(inline, "rebuilt");

        using (var daemon = await store.BuildProjectionDaemonAsync())
            foreach (var projection in ProjectionCatalog.All(store))
                await daemon.RebuildProjectionAsync(projection.Name, TimeSpan.FromMinutes(2), CancellationToken.None);
        (await ToolingFixture.ReadModelAsync(store)).ShouldEqualReadModel(inline, "Marten's `projections rebuild` path gives the same documents");

        await AssertEveryStoredEventPassesTheRulesAsync(store, seeded.RoomIds);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(8)]
    public async Task The_bulk_path_writes_what_a_rebuild_and_the_daemon_write(int seed)
    {
        var store = ToolingFixture.NewStore($"bulkrb{seed}");
        var seeded = await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 4, Members = 5, Events = 90, Seed = seed });
        seeded.Events.Should().Be(4 * 90);
        var bulk = await ToolingFixture.ReadModelAsync(store);
        bulk.Should().NotBeEmpty();

        var rebuilt = await ToolingFixture.Rebuilder(store).RebuildAsync(new RebuildOptions { PageSize = 100 }, new SilentProgress(), default);
        rebuilt.Events.Should().Be(seeded.Events);
        rebuilt.Verification!.Passed.Should().BeTrue(string.Join("\n", rebuilt.Verification.Mismatches));
        (await ToolingFixture.ReadModelAsync(store)).ShouldEqualReadModel(bulk);

        using (var daemon = await store.BuildProjectionDaemonAsync())
            foreach (var projection in ProjectionCatalog.All(store))
                await daemon.RebuildProjectionAsync(projection.Name, TimeSpan.FromMinutes(2), CancellationToken.None);
        (await ToolingFixture.ReadModelAsync(store)).ShouldEqualReadModel(bulk);
        await AssertEveryStoredEventPassesTheRulesAsync(store, seeded.RoomIds);
    }

    [Fact]
    public async Task Verification_finds_a_tampered_read_model_and_a_rebuild_repairs_it()
    {
        var store = ToolingFixture.NewStore("tamper");
        var seeded = await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 2, Members = 4, Events = 40, Seed = 3 });
        var room = seeded.RoomIds[0];
        var verifier = new RebuildVerifier(store);
        var projections = ProjectionCatalog.All(store);
        (await verifier.VerifyAsync(projections, seeded.RoomIds, default)).Passed.Should().BeTrue();

        await using (var connection = store.Storage.Database.CreateConnection())
        {
            await connection.OpenAsync();
            await Execute(connection, "update mt_doc_roomhead set data = jsonb_set(data, '{streamVersion}', '3') where id = @room", room);
            await Execute(connection, "delete from mt_doc_roommember where id = (select id from mt_doc_roommember where data ->> 'roomId' = @room limit 1)", room);
            await Execute(connection,
                "insert into mt_doc_roomstateentry (id, data, mt_dotnet_type) select id || 'x', jsonb_set(data, '{id}', to_jsonb(id || 'x')), mt_dotnet_type " +
                "from mt_doc_roomstateentry where data ->> 'roomId' = @room limit 1", room);
        }

        var report = await verifier.VerifyAsync(projections, [room], default);
        report.Passed.Should().BeFalse();
        report.Mismatches.Select(m => m.Check).Should().Contain(["RoomHead", "RoomMember", "RoomStateEntry", "live:room_heads", "live:room_members", "live:room_state"]);

        var rebuilt = await ToolingFixture.Rebuilder(store).RebuildAsync(new RebuildOptions { VerifySample = 10 }, new SilentProgress(), default);
        rebuilt.Verification!.Passed.Should().BeTrue(string.Join("\n", rebuilt.Verification.Mismatches));
    }

    [Fact]
    public async Task A_rebuild_leaves_out_documents_no_event_produces()
    {
        var store = ToolingFixture.NewStore("sweep");
        var seeded = await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 2, Members = 3, Events = 30, Seed = 4 });
        var before = await ToolingFixture.ReadModelAsync(store);
        await using (var connection = store.Storage.Database.CreateConnection())
        {
            await connection.OpenAsync();
            await Execute(connection, "insert into mt_doc_roomeventlocation (id, data, mt_dotnet_type) values ('$stray', " +
                "jsonb_build_object('id', '$stray', 'roomId', @room, 'position', 99), 'x')", seeded.RoomIds[0]);
        }
        var rebuilt = await ToolingFixture.Rebuilder(store).RebuildAsync(new RebuildOptions(), new SilentProgress(), default);
        rebuilt.Switched.Should().BeTrue();
        (await ToolingFixture.ReadModelAsync(store)).ShouldEqualReadModel(before);
    }

    [Fact]
    public async Task A_rebuild_while_rooms_are_written_to_catches_up_with_them()
    {
        var seeded = await fixture.Service<RoomSeeder>().SeedAsync(
            new SeedOptions { Rooms = 3, Members = 4, Events = 120, Seed = 77 }, bulk: false, new SilentProgress(), CancellationToken.None);
        var bus = fixture.Bus;
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var writers = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested && i < 400; i++)
            {
                var room = seeded.RoomIds[i % seeded.RoomIds.Count];
                var creator = (await fixture.Service<Matrix.Rooms.Projections.TimeTravel.RoomTimeTravel>()
                    .StateAtAsync(room, Matrix.Rooms.Projections.TimeTravel.RoomPoint.Latest)).Value.Creator!;
                try
                {
                    var result = await bus.InvokeAsync<RoomCommandResult>(new SendRoomEvent
                    {
                        RoomId = room, Sender = creator, EventType = EventTypes.Message, Content = new JsonObject { ["msgtype"] = "m.text", ["body"] = $"during {i}" },
                    });
                    if (result.Error is null) Interlocked.Increment(ref sent);
                }
                catch (JasperFx.Events.EventStreamUnexpectedMaxEventIdException)
                {
                    // Two commands on one room raced (the retries ran out): not what this test is about.
                }
            }
        });
        var rebuilt = await ToolingFixture.Rebuilder(fixture.Store).RebuildAsync(
            new RebuildOptions { PageSize = 20, VerifySample = 0 }, new SilentProgress(), default);
        await stop.CancelAsync();
        await writers;
        sent.Should().BeGreaterThan(0);

        var verifier = new RebuildVerifier(fixture.Store);
        var report = await verifier.VerifyAsync(ProjectionCatalog.All(fixture.Store), seeded.RoomIds, default);
        report.Mismatches.Should().BeEmpty($"the rebuild caught up {rebuilt.RoomsCaughtUp} rooms and filled {rebuilt.GapsFilled} gaps");
    }

    [Fact]
    public async Task A_new_projection_version_is_rebuilt_into_its_own_tables_while_the_old_ones_stay()
    {
        var connection = TestDatabase.NewDatabase("bluegreen");
        var blue = ToolingFixture.StoreOn(connection);
        await ToolingFixture.SeedBulkAsync(blue, new SeedOptions { Rooms = 3, Members = 5, Events = 50, Seed = 12 });
        var blueMembers = await Rows(blue, "mt_doc_roommember");

        var green = ToolingFixture.StoreOn(connection, options =>
        {
            foreach (var projection in options.Projections.All.OfType<ProjectionBase>().Where(p => p.Name == "room_members"))
                projection.Version = 2;
            options.UseVersionedProjectionTables();
        });
        var rebuilt = await ToolingFixture.Rebuilder(green).RebuildAsync(
            new RebuildOptions { Projections = ["room_members"] }, new SilentProgress(), default);
        rebuilt.Replayed.Should().Equal("room_members (v2)");
        rebuilt.Verification!.Passed.Should().BeTrue(string.Join("\n", rebuilt.Verification.Mismatches));

        (await Rows(green, "mt_doc_roommember_v2")).Select(r => (r.Id, r.Data)).Should().BeEquivalentTo(blueMembers.Select(r => (r.Id, r.Data)));
        (await Rows(blue, "mt_doc_roommember")).Should().BeEquivalentTo(blueMembers, "the serving (blue) tables are untouched, mt_version included");
        await using var session = green.QuerySession();
        (await session.Query<RoomMember>().CountAsync()).Should().Be(blueMembers.Count, "the v2 store reads the v2 table");
    }

    [Fact]
    public async Task A_green_rebuild_follows_the_blue_servers_appends_until_it_is_stopped()
    {
        var seeded = await fixture.Service<RoomSeeder>().SeedAsync(
            new SeedOptions { Rooms = 2, Members = 4, Events = 40, Seed = 88 }, bulk: false, new SilentProgress(), CancellationToken.None);
        await using var green = ToolingFixture.StoreOn(fixture.ConnectionString, options =>
        {
            foreach (var projection in options.Projections.All.OfType<ProjectionBase>().Where(p => p.Name == "room_members"))
                projection.Version = 3;
            options.UseVersionedProjectionTables();
        });
        using var stop = new CancellationTokenSource();
        var progress = new SilentProgress();
        var rebuilding = ToolingFixture.Rebuilder(green).RebuildAsync(
            new RebuildOptions { Projections = ["room_members"], FollowUntil = stop.Token, VerifySample = 0 }, progress, default);

        // The blue side (the fixture's Host, v1 tables) keeps taking commands meanwhile: new members join.
        var bus = fixture.Bus;
        var joined = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var room = seeded.RoomIds[i % 2];
            var user = $"@follower{i}_{Guid.NewGuid():N}"[..24] + ":localhost";
            var creator = (await fixture.Service<Matrix.Rooms.Projections.TimeTravel.RoomTimeTravel>()
                .StateAtAsync(room, Matrix.Rooms.Projections.TimeTravel.RoomPoint.Latest)).Value.Creator!;
            (await bus.InvokeAsync<RoomCommandResult>(new InviteUser { RoomId = room, Sender = creator, UserId = user })).Error.Should().BeNull();
            joined.Add(user);
            await Task.Delay(300);
        }
        await Task.Delay(1500);
        await stop.CancelAsync();
        var result = await rebuilding;

        result.Replayed.Should().Equal("room_members (v3)");
        await using var session = green.QuerySession();
        foreach (var user in joined)
            (await session.Query<RoomMember>().SingleAsync(m => m.UserId == user)).Membership.Should().Be("invite",
                "the green table picked up the invite made on the blue side while it followed");
        (await new RebuildVerifier(green).VerifyAsync(ProjectionCatalog.Select(green, ["room_members"]), seeded.RoomIds, default))
            .Mismatches.Should().BeEmpty();
    }

    private static async Task AssertEveryStoredEventPassesTheRulesAsync(IDocumentStore store, IEnumerable<string> rooms)
    {
        await using var session = store.QuerySession();
        foreach (var room in rooms)
        {
            var timeline = (await session.Events.FetchStreamAsync(room)).Select(e => (MatrixEvent)e.Data).ToList();
            timeline.Should().NotBeEmpty();
            var failure = RoomAudit.FirstFailure(timeline);
            failure.Should().BeNull(failure is null ? "" : $"event {failure.Index} of {room} ({failure.Event.Type}) is refused: {failure.Decision}");
        }
    }

    private static async Task<List<(string Id, string Data, Guid Version)>> Rows(IDocumentStore store, string table)
    {
        var rows = new List<(string, string, Guid)>();
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand($"select id, data::text, mt_version from {table}", connection);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetString(1), reader.GetGuid(2)));
        return rows;
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, string room)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        cmd.Parameters.AddWithValue("room", room);
        (await cmd.ExecuteNonQueryAsync()).Should().Be(1, sql);
    }
}
