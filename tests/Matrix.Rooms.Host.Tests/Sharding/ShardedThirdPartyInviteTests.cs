using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Infrastructure.Postgres;
using Matrix.Rooms.Host.Infrastructure.Sharding;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Host.Tests.ThirdPartyInvites;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Matrix.Rooms.Host.Tests.Sharding;

/// <summary>The third-party-invite Host with rooms over two databases (the main one and one shard).</summary>
public sealed class ShardedThirdPartyInviteFixture : ThirdPartyInviteFixture
{
    public string ShardConnectionString { get; } = TestDatabase.NewDatabase("tpishard1");

    protected override void Configure(IWebHostBuilder builder) => builder.UseSetting($"{RoomShards.Section}:0", ShardConnectionString);
}

/// <summary>
/// A third-party invite in a room of the second shard: the invite handler's follow-up commands (the
/// <c>m.room.third_party_invite</c> append, and on bind the exchange's key check and member invite) are sent from inside
/// handlers, and must reach the room's database, not the main one.
/// </summary>
public sealed class ShardedThirdPartyInviteTests(ShardedThirdPartyInviteFixture host) : IClassFixture<ShardedThirdPartyInviteFixture>
{
    [Fact]
    public async Task An_email_invite_in_a_room_on_the_second_shard_is_exchanged_on_bind_and_joined()
    {
        var shards = host.Host.Services.GetRequiredService<RoomShards>();
        var (alice, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = "";
        for (var i = 0; i < 64 && (roomId.Length == 0 || shards.ShardOf(roomId) != 1); i++)
            roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "private_chat" });
        shards.ShardOf(roomId).Should().Be(1, "the test needs a room placed on the second database");
        var rooms = $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}";

        var address = ThirdPartyInviteFixture.NewAddress();
        var (status, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken);
        status.Should().Be(200, body.ToJsonString());
        (await EventTypesAsync(host.ShardConnectionString, roomId)).Should().Contain("m.room.third_party_invite");

        await host.BindAsync(address, bobToken);

        var (_, members) = await host.SendAsync(HttpMethod.Get, $"{rooms}/members", token: aliceToken);
        var invite = members["chunk"]!.AsArray().Single(m => m!["state_key"]!.GetValue<string>() == bob)!;
        (invite["sender"]!.GetValue<string>(), invite["content"]!["membership"]!.GetValue<string>()).Should().Be((alice, "invite"));
        invite["content"]!["third_party_invite"]!["signed"]!["mxid"]!.GetValue<string>().Should().Be(bob);

        (await host.PostAsync($"{rooms}/join", new JsonObject(), bobToken)).Status.Should().Be(200);
        var (_, joined) = await host.SendAsync(HttpMethod.Get, $"{rooms}/joined_members", token: aliceToken);
        joined["joined"]!.AsObject().Select(kv => kv.Key).Should().BeEquivalentTo(alice, bob);

        // Every event of the room is in its shard's event store, none in the main database's.
        (await EventTypesAsync(host.ShardConnectionString, roomId)).Count(t => t == "m.room.member").Should().Be(3, "alice's join, bob's invite and join");
        var main = host.Host.Services.GetRequiredService<DatabaseConnection>().ConnectionString;
        (await ShardingTests.EventCountAsync(main, roomId)).Should().Be(0);
    }

    private static async Task<List<string>> EventTypesAsync(string connectionString, string roomId)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand("select data ->> 'type' from mt_events where stream_id = $1 order by version");
        command.Parameters.AddWithValue(roomId);
        var types = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) types.Add(reader.GetString(0));
        return types;
    }
}
