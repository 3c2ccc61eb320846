using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Seeding;

namespace Matrix.Rooms.Host.Tests.Tooling;

/// <summary>A projection the in-memory replay cannot run (it reads documents while projecting) is rebuilt by Marten's daemon.</summary>
public sealed class DaemonFallbackTests
{
    [Fact]
    public async Task A_projection_that_reads_while_projecting_is_rebuilt_by_the_daemon_and_the_others_by_the_replay()
    {
        var store = ToolingFixture.NewStore("daemonfb", options =>
        {
            options.Schema.For<MessageCount>();
            options.Projections.Add(new MessageCountProjection(), ProjectionLifecycle.Inline);
        });
        var seeded = await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 3, Members = 4, Events = 40, Seed = 61 });
        var before = await Counts(store, seeded.RoomIds);
        before.Values.Should().OnlyContain(c => c > 0);
        await using (var connection = store.Storage.Database.CreateConnection())
        {
            await connection.OpenAsync();
            await using var wipe = new Npgsql.NpgsqlCommand("delete from mt_doc_rebuildmessagecount", connection);
            await wipe.ExecuteNonQueryAsync();
        }

        var result = await ToolingFixture.Rebuilder(store).RebuildAsync(new RebuildOptions(), new SilentProgress(), default);

        result.RebuiltByDaemon.Should().Equal("message_counts");
        result.Replayed.Should().NotContain("message_counts").And.Contain("room_state");
        result.Verification!.Passed.Should().BeTrue(string.Join("\n", result.Verification.Mismatches));
        (await Counts(store, seeded.RoomIds)).Should().Equal(before);
    }

    private static async Task<Dictionary<string, int>> Counts(IDocumentStore store, IEnumerable<string> rooms)
    {
        await using var session = store.QuerySession();
        var counts = new Dictionary<string, int>();
        foreach (var room in rooms) counts[room] = (await session.LoadAsync<MessageCount>(room))?.Messages ?? 0;
        return counts;
    }
}

[Marten.Schema.DocumentAlias("rebuildmessagecount")]
public sealed record MessageCount
{
    public required string Id { get; init; }
    public int Messages { get; init; }
}

/// <summary>Counts messages per room by loading the current count: it reads while projecting.</summary>
public sealed partial class MessageCountProjection : EventProjection
{
    public MessageCountProjection()
    {
        Name = "message_counts";
        IncludeType<MessageEvent>();
    }

    public override async ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        if (e.Data is not MessageEvent message) return;
        var current = await operations.LoadAsync<MessageCount>(message.RoomId, cancellation);
        operations.Store(new MessageCount { Id = message.RoomId, Messages = (current?.Messages ?? 0) + 1 });
    }
}
