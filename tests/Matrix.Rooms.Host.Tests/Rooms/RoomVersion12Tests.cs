using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Rooms;

/// <summary>A room of version 12 through the client-server API: its ID is the create event's hash, and it works like any other.</summary>
[Collection(HostCollection.Name)]
public sealed class RoomVersion12Tests(HostFixture host)
{
    [Fact]
    public async Task A_v12_room_is_named_by_its_create_event_and_serves_invites_joins_messages_state_and_sync()
    {
        var (alice, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["room_version"] = "12", ["name"] = "Twelve" });

        roomId.Should().MatchRegex("^![A-Za-z0-9_-]{43}$", "v12 room IDs are ! + the create event's URL-safe reference hash");
        var (status, state) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/state/m.room.create/", aliceToken);
        status.Should().Be(200, state.ToJsonString());
        state["room_version"]!.GetValue<string>().Should().Be("12");

        (await host.PostAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/invite", new JsonObject { ["user_id"] = bob }, aliceToken))
            .Status.Should().Be(200);
        var (joined, joinBody) = await host.JoinAsync(bobToken, roomId);
        joined.Should().Be(200, joinBody.ToJsonString());
        await host.SendMessageAsync(bobToken, roomId, "hello twelve");

        var (synced, sync) = await host.GetAsync("/_matrix/client/v3/sync", aliceToken);
        synced.Should().Be(200, sync.ToJsonString());
        var room = sync["rooms"]!["join"]![roomId]!;
        var events = room["state"]!["events"]!.AsArray().Concat(room["timeline"]!["events"]!.AsArray()).ToList();
        var create = events.Single(e => e!["type"]!.GetValue<string>() == "m.room.create")!;
        create["event_id"].Should().NotBeNull(create.ToJsonString());
        ("!" + create["event_id"]!.GetValue<string>()[1..]).Should().Be(roomId);
        var (found, createEvent) = await host.GetAsync(
            $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/event/{Uri.EscapeDataString(create["event_id"]!.GetValue<string>())}", aliceToken);
        found.Should().Be(200, createEvent.ToJsonString());
        createEvent["room_id"]!.GetValue<string>().Should().Be(roomId, "client events name their room, the create event too");
        room["timeline"]!["events"]!.AsArray().Select(e => e!["content"]?["body"]?.GetValue<string>()).Should().Contain("hello twelve");

        // Creators have infinite power and may not be listed in users.
        var (_, levels) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/state/m.room.power_levels/", aliceToken);
        levels["users"]?.AsObject().Select(p => p.Key).Should().NotContain(alice);
    }
}
