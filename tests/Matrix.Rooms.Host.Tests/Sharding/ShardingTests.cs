using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Features.Sync;
using Matrix.Rooms.Host.Infrastructure.Sharding;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Matrix.Rooms.Host.Tests.Sharding;

/// <summary>A Host whose rooms are spread over two databases of the test cluster: the main one (shard 0) and one more.</summary>
public sealed class ShardedHostFixture : HostFixture
{
    public string ShardConnectionString { get; } = TestDatabase.NewDatabase("shard1");

    protected override void Configure(IWebHostBuilder builder) => builder.UseSetting($"{RoomShards.Section}:0", ShardConnectionString);
}

[CollectionDefinition(Name)]
public sealed class ShardedHostCollection : ICollectionFixture<ShardedHostFixture>
{
    public const string Name = "sharded host";
}

/// <summary>Rooms over two databases (docs/scale-out.md "Sharding rooms"): placement, writes, room reads, the per-user views, wake-ups.</summary>
[Collection(ShardedHostCollection.Name)]
public sealed class ShardingTests(ShardedHostFixture host)
{
    private const string Sync = "/_matrix/client/v3/sync";

    private static string Rooms(string roomId) => $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}";

    private RoomShards Shards => host.Host.Services.GetRequiredService<RoomShards>();

    private string MainConnectionString => host.Host.Services.GetRequiredService<Matrix.Rooms.Host.Infrastructure.Postgres.DatabaseConnection>().ConnectionString;

    /// <summary>Public rooms by <paramref name="creatorToken"/> until there are <paramref name="each"/> in each shard.</summary>
    private async Task<(List<string> Shard0, List<string> Shard1)> RoomsOnBothShardsAsync(string creatorToken, int each = 2)
    {
        var rooms = (new List<string>(), new List<string>());
        for (var i = 0; i < 64 && (rooms.Item1.Count < each || rooms.Item2.Count < each); i++)
        {
            var roomId = await host.CreateRoomAsync(creatorToken, new JsonObject { ["preset"] = "public_chat" });
            (Shards.ShardOf(roomId) == 0 ? rooms.Item1 : rooms.Item2).Add(roomId);
        }
        rooms.Item1.Should().HaveCountGreaterThanOrEqualTo(each, "rooms land on shard 0");
        rooms.Item2.Should().HaveCountGreaterThanOrEqualTo(each, "rooms land on shard 1");
        return rooms;
    }

    /// <summary>How many events of <paramref name="roomId"/> one database's <c>mt_events</c> holds.</summary>
    internal static async Task<long> EventCountAsync(string connectionString, string roomId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("select count(*) from mt_events where stream_id = @id", connection);
        count.Parameters.AddWithValue("id", roomId);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private async Task<JsonObject> SyncOkAsync(string token, string query = "")
    {
        var (status, body) = await host.GetAsync($"{Sync}{(query.Length > 0 ? "?" + query : "")}", token);
        status.Should().Be(200, body.ToJsonString());
        return body;
    }

    private static string Since(JsonObject sync) => Uri.EscapeDataString(sync["next_batch"]!.GetValue<string>());

    private static List<string> Bodies(JsonObject sync, string roomId) => sync["rooms"]!["join"]![roomId]?["timeline"]!["events"]!.AsArray()
        .Where(e => e!["type"]!.GetValue<string>() == "m.room.message").Select(e => e!["content"]!["body"]!.GetValue<string>()).ToList() ?? [];

    [Fact]
    public void Placement_is_the_first_8_bytes_of_SHA_256_of_the_room_ID_modulo_the_shard_count()
    {
        // SHA-256("!a:localhost") starts 0x…; the rule is fixed here so a change to it (which would move rooms) fails.
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("!a:localhost"));
        var expected = (int)(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(hash) % 3UL);
        RoomShards.ShardOf("!a:localhost", 3).Should().Be(expected);
        RoomShards.ShardOf("!a:localhost", 1).Should().Be(0);
        Enumerable.Range(0, 200).Select(i => RoomShards.ShardOf($"!room{i}:localhost", 2)).Distinct().Should().BeEquivalentTo([0, 1]);
    }

    [Fact]
    public async Task Each_room_s_events_are_in_exactly_its_shard_s_event_table()
    {
        var (_, token) = await host.RegisterAsync();
        var (onMain, onShard) = await RoomsOnBothShardsAsync(token);
        foreach (var roomId in onMain.Concat(onShard))
        {
            await host.SendMessageAsync(token, roomId, "hello");
            var (mine, other) = Shards.ShardOf(roomId) == 0 ? (MainConnectionString, host.ShardConnectionString) : (host.ShardConnectionString, MainConnectionString);
            (await EventCountAsync(mine, roomId)).Should().BeGreaterThan(1, $"{roomId} lives in shard {Shards.ShardOf(roomId)}");
            (await EventCountAsync(other, roomId)).Should().Be(0, $"{roomId} has no events in the other shard");
        }
    }

    [Fact]
    public async Task A_user_joined_to_rooms_on_both_shards_sees_both_in_sync_and_joined_rooms()
    {
        var (_, alice) = await host.RegisterAsync();
        var (_, bob) = await host.RegisterAsync();
        var (onMain, onShard) = await RoomsOnBothShardsAsync(alice, each: 1);
        var rooms = new[] { onMain[0], onShard[0] };
        foreach (var roomId in rooms) (await host.JoinAsync(bob, roomId)).Status.Should().Be(200);

        var (status, joined) = await host.GetAsync("/_matrix/client/v3/joined_rooms", bob);
        status.Should().Be(200);
        joined["joined_rooms"]!.AsArray().Select(r => r!.GetValue<string>()).Should().BeEquivalentTo(rooms);

        var first = await SyncOkAsync(bob);
        first["rooms"]!["join"]!.AsObject().Select(p => p.Key).Should().BeEquivalentTo(rooms);
        first["next_batch"]!.GetValue<string>().Should().MatchRegex(@"^e\d+\.\d+_\d+$", "one position per shard");

        foreach (var roomId in rooms) await host.SendMessageAsync(alice, roomId, "news in " + roomId);
        var second = await SyncOkAsync(bob, $"since={Since(first)}");
        foreach (var roomId in rooms) Bodies(second, roomId).Should().Equal("news in " + roomId);
        var third = await SyncOkAsync(bob, $"since={Since(second)}");
        third["rooms"]!["join"]!.AsObject().Should().BeEmpty("nothing happened since");

        // An invite into a room on either shard reaches the invitee's sync.
        var (carolId, carol) = await host.RegisterAsync();
        var carolFirst = await SyncOkAsync(carol);
        foreach (var roomId in rooms)
            (await host.PostAsync($"{Rooms(roomId)}/invite", new JsonObject { ["user_id"] = carolId }, alice)).Status.Should().Be(200);
        (await SyncOkAsync(carol, $"since={Since(carolFirst)}"))["rooms"]!["invite"]!.AsObject().Select(p => p.Key).Should().BeEquivalentTo(rooms);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task A_long_poll_wakes_for_an_event_appended_in_either_shard(int shard)
    {
        await host.Host.Services.GetRequiredService<SyncNotificationListener>().Listening.WaitAsync(TimeSpan.FromSeconds(30));
        var (_, alice) = await host.RegisterAsync();
        var (_, bob) = await host.RegisterAsync();
        var (onMain, onShard) = await RoomsOnBothShardsAsync(alice, each: 1);
        foreach (var roomId in new[] { onMain[0], onShard[0] }) (await host.JoinAsync(bob, roomId)).Status.Should().Be(200);
        var target = shard == 0 ? onMain[0] : onShard[0];
        var first = await SyncOkAsync(bob);

        var poll = SyncOkAsync(bob, $"since={Since(first)}&timeout=60000");
        await Task.Delay(300);
        await host.SendMessageAsync(alice, target, "wake up");
        (await Task.WhenAny(poll, Task.Delay(TimeSpan.FromSeconds(50)))).Should().BeSameAs(poll, "the send answers the long-poll before its timeout");
        Bodies(await poll, target).Should().Equal("wake up");
    }

    [Fact]
    public async Task A_retransmitted_transaction_ID_answers_the_same_event_in_either_shard()
    {
        var (_, token) = await host.RegisterAsync();
        var (onMain, onShard) = await RoomsOnBothShardsAsync(token, each: 1);
        foreach (var roomId in new[] { onMain[0], onShard[0] })
        {
            var before = await host.StreamVersionAsync(roomId);
            var url = $"{Rooms(roomId)}/send/m.room.message/txn-{Guid.NewGuid():N}";
            var body = new JsonObject { ["msgtype"] = "m.text", ["body"] = "once" }.ToJsonString();
            var first = await host.SendAsync(HttpMethod.Put, url, body, token);
            var second = await host.SendAsync(HttpMethod.Put, url, body, token);
            first.Status.Should().Be(200);
            second.Status.Should().Be(200);
            second.Body["event_id"]!.GetValue<string>().Should().Be(first.Body["event_id"]!.GetValue<string>());
            var (mine, _) = Shards.ShardOf(roomId) == 0 ? (MainConnectionString, 0) : (host.ShardConnectionString, 1);
            await using var connection = new NpgsqlConnection(mine);
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand("select count(*) from mt_events where stream_id = @id and data ->> 'event_id' = @e", connection);
            count.Parameters.AddWithValue("id", roomId);
            count.Parameters.AddWithValue("e", first.Body["event_id"]!.GetValue<string>());
            ((long)(await count.ExecuteScalarAsync())!).Should().Be(1, "one event for one transaction ID");
            _ = before;
        }
    }

    [Fact]
    public async Task Room_reads_of_a_room_on_the_second_shard_read_that_shard()
    {
        var (_, alice) = await host.RegisterAsync();
        var (_, onShard) = await RoomsOnBothShardsAsync(alice, each: 1);
        var roomId = onShard[0];
        var eventId = await host.SendMessageAsync(alice, roomId, "read me");
        await host.SetStateAsync(alice, roomId, "m.room.topic", new JsonObject { ["topic"] = "sharded" });

        async Task<JsonObject> Ok(string path)
        {
            var (status, body) = await host.GetAsync(Rooms(roomId) + path, alice);
            status.Should().Be(200, $"{path}: {body.ToJsonString()}");
            return body;
        }
        (await Ok("/state/m.room.topic"))["topic"]!.GetValue<string>().Should().Be("sharded");
        (await Ok("/messages?dir=b&limit=5"))["chunk"]!.AsArray().Should().Contain(e => e!["event_id"]!.GetValue<string>() == eventId);
        (await Ok($"/event/{Uri.EscapeDataString(eventId)}"))["content"]!["body"]!.GetValue<string>().Should().Be("read me");
        (await Ok($"/context/{Uri.EscapeDataString(eventId)}"))["event"]!["event_id"]!.GetValue<string>().Should().Be(eventId);
        (await Ok("/members"))["chunk"]!.AsArray().Should().NotBeEmpty();
        (await Ok("/joined_members"))["joined"]!.AsObject().Should().HaveCount(1);
        (await Ok("/state")).Should().NotBeNull();
        (await Ok("/initialSync"))["room_id"]!.GetValue<string>().Should().Be(roomId);

        // The operator API's time travel reads the room's shard too.
        var (adminStatus, adminText, _) = await host.SendRawAsync("GET", $"{Matrix.Rooms.Host.Features.Admin.AdminApi.Prefix}/rooms/{HostFixture.Room(roomId)}/state", null);
        adminStatus.Should().Be(200, adminText);
        adminText.Should().Contain("sharded");
    }
}
