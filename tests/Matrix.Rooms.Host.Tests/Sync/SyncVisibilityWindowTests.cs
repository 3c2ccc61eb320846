using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Sync;

/// <summary>
/// Sync reads only the history-visibility changes that decide its window of events (those from the window on, and the
/// last one before it): events in the window still follow the value in force when each was sent, whether that value
/// was set before the window or inside it.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class SyncVisibilityWindowTests(HostFixture host)
{
    [Fact]
    public async Task Events_served_follow_the_change_before_the_window_and_the_change_inside_it()
    {
        var (_, alice) = await host.RegisterAsync();
        var (bobId, bob) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(alice, new JsonObject { ["preset"] = "private_chat" });
        await host.SendMessageAsync(alice, roomId, "shared-0");
        // "joined": bob, who joins later, may not see what is sent now. Far before sync's window (timeline limit 5 reads
        // a window of 2 × 5 + 10 = 20 events back from the room's last).
        await host.SetStateAsync(alice, roomId, "m.room.history_visibility", new JsonObject { ["history_visibility"] = "joined" });
        for (var i = 0; i < 30; i++) await host.SendMessageAsync(alice, roomId, $"joined-{i}");
        // Inside the window: "shared" again, so what follows is visible to bob once he joins.
        await host.SetStateAsync(alice, roomId, "m.room.history_visibility", new JsonObject { ["history_visibility"] = "shared" });
        for (var i = 0; i < 2; i++) await host.SendMessageAsync(alice, roomId, $"shared-after-{i}");
        (await host.PostAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/invite", new JsonObject { ["user_id"] = bobId }, alice)).Status.Should().Be(200);
        (await host.JoinAsync(bob, roomId)).Status.Should().Be(200);

        var filter = """{"room":{"timeline":{"limit":5}}}""";
        var (status, sync) = await host.GetAsync("/_matrix/client/v3/sync?filter=" + Uri.EscapeDataString(filter), bob);
        status.Should().Be(200, sync.ToJsonString());
        var events = sync["rooms"]!["join"]![roomId]!["timeline"]!["events"]!.AsArray();
        var bodies = events.Where(e => e!["type"]!.GetValue<string>() == "m.room.message").Select(e => e!["content"]!["body"]!.GetValue<string>()).ToList();
        bodies.Should().Equal("shared-after-0", "shared-after-1");
        events.Select(e => e!["type"]!.GetValue<string>()).Should().Contain("m.room.history_visibility", "the change inside the window is served");

        // A longer page reaches into the "joined" stretch: none of it is visible to bob, who was not joined then.
        filter = """{"room":{"timeline":{"limit":12}}}""";
        (status, sync) = await host.GetAsync("/_matrix/client/v3/sync?filter=" + Uri.EscapeDataString(filter), bob);
        status.Should().Be(200);
        sync["rooms"]!["join"]![roomId]!["timeline"]!["events"]!.AsArray()
            .Where(e => e!["type"]!.GetValue<string>() == "m.room.message").Select(e => e!["content"]!["body"]!.GetValue<string>())
            .Should().Equal("shared-after-0", "shared-after-1");

        // Alice, joined throughout, sees the "joined" stretch in the same window.
        (status, sync) = await host.GetAsync("/_matrix/client/v3/sync?filter=" + Uri.EscapeDataString(filter), alice);
        status.Should().Be(200);
        sync["rooms"]!["join"]![roomId]!["timeline"]!["events"]!.AsArray()
            .Select(e => e!["content"]!["body"]?.GetValue<string>()).Should().Contain("joined-29");
    }
}
