using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Infrastructure.Sharding;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.Sharding;

/// <summary>The tooling over two shards, each command its own process (<c>dotnet Matrix.Rooms.Host.dll …</c>): export,
/// room-state, rebuild --verify-only, and import of the export into a fresh pair of databases, each room into its shard.</summary>
[Collection(ShardedHostCollection.Name)]
public sealed class ShardToolingTests(ShardedHostFixture host)
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    private static Dictionary<string, string> On(string main, string shard) => new()
    {
        ["ConnectionStrings__Marten"] = main, ["MatrixRooms__Shards__0"] = shard, ["MatrixRooms__PasswordHashIterations"] = "1000",
    };

    [Fact]
    public async Task Export_room_state_rebuild_and_import_work_over_both_shards()
    {
        var shards = host.Host.Services.GetRequiredService<RoomShards>();
        var main = host.Host.Services.GetRequiredService<Matrix.Rooms.Host.Infrastructure.Postgres.DatabaseConnection>().ConnectionString;
        var (_, token) = await host.RegisterAsync();
        var rooms = new Dictionary<int, string>();
        for (var i = 0; i < 64 && rooms.Count < 2; i++)
        {
            var roomId = await host.CreateRoomAsync(token, new JsonObject { ["name"] = "tooling" });
            rooms.TryAdd(shards.ShardOf(roomId), roomId);
        }
        rooms.Keys.Should().BeEquivalentTo([0, 1]);
        foreach (var roomId in rooms.Values) await host.SendMessageAsync(token, roomId, "exported");
        var environment = On(main, host.ShardConnectionString);

        var file = Path.Combine(Path.GetTempPath(), $"shard-export-{Guid.NewGuid():N}.jsonl");
        try
        {
            var export = await HostProcess.RunSeparatelyAsync(environment, Bound, "export", "--output", file);
            export.ExitCode.Should().Be(0, export.Output);
            var lines = await File.ReadAllLinesAsync(file);
            foreach (var roomId in rooms.Values) lines.Should().Contain(l => l.Contains(roomId), "every shard's rooms are exported");

            var state = await HostProcess.RunSeparatelyAsync(environment, Bound, "room-state", rooms[1], "--compact");
            state.ExitCode.Should().Be(0, state.Output);
            state.StandardOutput.Should().Contain("members", "the room on shard 1 is found there");

            var verify = await HostProcess.RunSeparatelyAsync(environment, Bound, "rebuild", "--verify-only", "--verify", "5");
            verify.ExitCode.Should().Be(0, verify.Output);
            verify.StandardOutput.Should().Contain("shard 0:").And.Contain("shard 1:");

            var (freshMain, freshShard) = (TestDatabase.NewDatabase("import0"), TestDatabase.NewDatabase("import1"));
            var import = await HostProcess.RunSeparatelyAsync(On(freshMain, freshShard), Bound, "import", file);
            import.ExitCode.Should().Be(0, import.Output);
            foreach (var (shard, roomId) in rooms)
            {
                var (mine, other) = shard == 0 ? (freshMain, freshShard) : (freshShard, freshMain);
                (await ShardingTests.EventCountAsync(mine, roomId)).Should().Be(await ShardingTests.EventCountAsync(shard == 0 ? main : host.ShardConnectionString, roomId));
                (await ShardingTests.EventCountAsync(other, roomId)).Should().Be(0);
            }
            // The tools changed nothing the serving Host relies on: it still appends in both shards.
            foreach (var roomId in rooms.Values) await host.SendMessageAsync(token, roomId, "after the tools");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
