using System.Text.Json;
using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Features.Sync;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.Sync;

/// <summary><c>GET /sync</c> over HTTP: shapes (data/api/client-server/sync.yaml), sections, incremental sync, long-poll, filters, visibility.</summary>
[Collection(HostCollection.Name)]
public sealed class SyncTests(HostFixture host)
{
    private const string Sync = "/_matrix/client/v3/sync";

    private static string Rooms(string roomId) => $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}";

    private async Task<JsonObject> SyncOkAsync(string token, string query = "")
    {
        var (status, body) = await host.GetAsync($"{Sync}{(query.Length > 0 ? "?" + query : "")}", token);
        status.Should().Be(200, body.ToJsonString());
        return body;
    }

    private static JsonObject? Section(JsonObject sync, string section, string roomId) => sync["rooms"]![section]![roomId] as JsonObject;

    private static List<string> Bodies(JsonObject room) => room["timeline"]!["events"]!.AsArray()
        .Where(e => e!["type"]!.GetValue<string>() == "m.room.message").Select(e => e!["content"]!["body"]!.GetValue<string>()).ToList();

    private static string Since(JsonObject sync) => Uri.EscapeDataString(sync["next_batch"]!.GetValue<string>());

    [Fact]
    public async Task Initial_sync_has_the_spec_shape_and_its_prev_batch_pages_with_messages()
    {
        var (alice, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        for (var i = 0; i < 12; i++) await host.SendMessageAsync(token, roomId, $"m{i}");

        var sync = await SyncOkAsync(token);

        sync["next_batch"]!.GetValueKind().Should().Be(JsonValueKind.String);
        foreach (var section in new[] { "join", "invite", "knock", "leave" }) sync["rooms"]![section].Should().BeOfType<JsonObject>();
        sync["account_data"]!["events"].Should().BeOfType<JsonArray>();
        sync["presence"]!["events"].Should().BeOfType<JsonArray>();
        var room = Section(sync, "join", roomId)!;
        room["timeline"]!["limited"]!.GetValueKind().Should().Be(JsonValueKind.True, "13+ events with the default limit of 10");
        room["timeline"]!["prev_batch"]!.GetValueKind().Should().Be(JsonValueKind.String);
        var timeline = room["timeline"]!["events"]!.AsArray();
        timeline.Should().HaveCount(10);
        foreach (var e in timeline.Concat(room["state"]!["events"]!.AsArray()))
        {
            foreach (var field in new[] { "event_id", "sender", "type" }) e![field]!.GetValueKind().Should().Be(JsonValueKind.String);
            e!["origin_server_ts"]!.GetValueKind().Should().Be(JsonValueKind.Number);
            e["content"].Should().BeOfType<JsonObject>();
        }
        room["state"]!["events"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).Should().Contain("m.room.create");
        room["ephemeral"]!["events"].Should().BeOfType<JsonArray>();
        room["account_data"]!["events"].Should().BeOfType<JsonArray>();
        room["unread_notifications"]!["highlight_count"]!.GetValueKind().Should().Be(JsonValueKind.Number);
        room["unread_notifications"]!["notification_count"]!.GetValueKind().Should().Be(JsonValueKind.Number);
        Bodies(room).Should().Equal(Enumerable.Range(2, 10).Select(i => $"m{i}"));

        var prev = room["timeline"]!["prev_batch"]!.GetValue<string>();
        var (status, page) = await host.GetAsync($"{Rooms(roomId)}/messages?dir=b&limit=2&from={prev}", token);
        status.Should().Be(200);
        page["chunk"]!.AsArray().Select(e => e!["content"]!["body"]?.GetValue<string>()).Should().Equal("m1", "m0");
        alice.Should().NotBeNull();
    }

    [Fact]
    public async Task An_invite_is_seen_by_the_invitee_with_stripped_state_and_a_join_moves_the_room()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["name"] = "Invite room" });
        var first = await SyncOkAsync(bobToken);
        Section(first, "invite", roomId).Should().BeNull();

        (await host.PostAsync($"{Rooms(roomId)}/invite", new JsonObject { ["user_id"] = bob }, aliceToken)).Status.Should().Be(200);
        var invited = await SyncOkAsync(bobToken, $"since={Since(first)}");
        var state = Section(invited, "invite", roomId)!["invite_state"]!["events"]!.AsArray();
        state.Select(e => e!["type"]!.GetValue<string>()).Should().Contain(["m.room.create", "m.room.join_rules", "m.room.name", "m.room.member"]);
        state.Single(e => e!["type"]!.GetValue<string>() == "m.room.member")!["content"]!["membership"]!.GetValue<string>().Should().Be("invite");
        foreach (var e in state) e!["sender"]!.GetValueKind().Should().Be(JsonValueKind.String);
        state.Should().NotContain(e => e!["type"]!.GetValue<string>() == "m.room.power_levels", "only the stripped state the spec lists");

        (await host.JoinAsync(bobToken, roomId)).Status.Should().Be(200);
        var joined = await SyncOkAsync(bobToken, $"since={Since(invited)}");
        Section(joined, "invite", roomId).Should().BeNull();
        Section(joined, "join", roomId)!["state"]!["events"]!.AsArray().Select(e => e!["type"]!.GetValue<string>())
            .Should().Contain("m.room.create", "a room joined since the token comes with its full state");
    }

    [Fact]
    public async Task An_incremental_sync_has_exactly_the_events_after_the_token()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (_, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(bobToken, roomId)).Status.Should().Be(200);
        await host.SendMessageAsync(aliceToken, roomId, "before");
        var first = await SyncOkAsync(bobToken);

        await host.SendMessageAsync(aliceToken, roomId, "after 1");
        await host.SendMessageAsync(aliceToken, roomId, "after 2");
        var second = await SyncOkAsync(bobToken, $"since={Since(first)}");
        var room = Section(second, "join", roomId)!;
        room["timeline"]!["events"]!.AsArray().Should().HaveCount(2);
        Bodies(room).Should().Equal("after 1", "after 2");
        room["timeline"]!["limited"]!.GetValue<bool>().Should().BeFalse();

        var third = await SyncOkAsync(bobToken, $"since={Since(second)}");
        Section(third, "join", roomId).Should().BeNull("nothing happened since");
    }

    [Fact]
    public async Task A_long_poll_is_answered_when_another_user_sends_before_its_timeout()
    {
        await host.Host.Services.GetRequiredService<SyncNotificationListener>().Listening.WaitAsync(TimeSpan.FromSeconds(30));
        var (_, aliceToken) = await host.RegisterAsync();
        var (_, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(bobToken, roomId)).Status.Should().Be(200);
        var first = await SyncOkAsync(bobToken);

        var poll = SyncOkAsync(bobToken, $"since={Since(first)}&timeout=60000");
        await Task.Delay(200); // let it reach its wait; the answer is the same either way
        await host.SendMessageAsync(aliceToken, roomId, "wake up");
        (await Task.WhenAny(poll, Task.Delay(TimeSpan.FromSeconds(50)))).Should().BeSameAs(poll, "the send answers the long-poll before its timeout");
        Bodies(Section(await poll, "join", roomId)!).Should().Equal("wake up");
    }

    [Fact]
    public async Task A_notification_from_the_store_wakes_a_waiter_for_the_room()
    {
        var listener = host.Host.Services.GetRequiredService<SyncNotificationListener>();
        await listener.Listening.WaitAsync(TimeSpan.FromSeconds(30));
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        using var waiter = listener.Subscribe(new HashSet<string> { SyncNotify.RoomKey(roomId) });
        var woken = waiter.WaitAsync(TimeSpan.FromSeconds(40), CancellationToken.None);
        await host.SendMessageAsync(token, roomId, "notify");
        var first = await Task.WhenAny(woken, Task.Delay(TimeSpan.FromSeconds(30)));
        first.Should().BeSameAs(woken);
    }

    [Fact]
    public async Task A_ban_moves_the_room_to_leave_and_later_events_are_not_sent()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(bobToken, roomId)).Status.Should().Be(200);
        var first = await SyncOkAsync(bobToken);
        Section(first, "join", roomId).Should().NotBeNull();

        (await host.PostAsync($"{Rooms(roomId)}/ban", new JsonObject { ["user_id"] = bob }, aliceToken)).Status.Should().Be(200);
        await host.SendMessageAsync(aliceToken, roomId, "after the ban");
        var second = await SyncOkAsync(bobToken, $"since={Since(first)}");
        Section(second, "join", roomId).Should().BeNull();
        var left = Section(second, "leave", roomId)!;
        left["timeline"]!["events"]!.AsArray().Should().Contain(e => e!["type"]!.GetValue<string>() == "m.room.member"
            && e["content"]!["membership"]!.GetValue<string>() == "ban");
        Bodies(left).Should().BeEmpty();

        (await SyncOkAsync(bobToken))["rooms"]!["leave"]!.AsObject().Should().NotContainKey(roomId, "left rooms only with include_leave");
        Section(await SyncOkAsync(bobToken, "filter=" + Uri.EscapeDataString("""{"room":{"include_leave":true}}""")), "leave", roomId).Should().NotBeNull();
    }

    [Fact]
    public async Task A_user_who_joined_later_under_joined_visibility_does_not_get_earlier_events()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (_, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        await host.SetStateAsync(aliceToken, roomId, "m.room.history_visibility", new JsonObject { ["history_visibility"] = "joined" });
        await host.SendMessageAsync(aliceToken, roomId, "before bob");
        (await host.JoinAsync(bobToken, roomId)).Status.Should().Be(200);
        await host.SendMessageAsync(aliceToken, roomId, "after bob");

        var room = Section(await SyncOkAsync(bobToken), "join", roomId)!;
        Bodies(room).Should().Equal("after bob");
    }

    [Fact]
    public async Task Filters_are_stored_read_back_and_applied()
    {
        var (alice, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var otherRoom = await host.CreateRoomAsync(token);
        for (var i = 0; i < 3; i++) await host.SendMessageAsync(token, roomId, $"m{i}");

        var definition = new JsonObject { ["room"] = new JsonObject { ["timeline"] = new JsonObject { ["limit"] = 1 }, ["not_rooms"] = new JsonArray(otherRoom) } };
        var created = await host.PostOkAsync($"/_matrix/client/v3/user/{Uri.EscapeDataString(alice)}/filter", definition, token);
        var filterId = created["filter_id"]!.GetValue<string>();
        var (status, readBack) = await host.GetAsync($"/_matrix/client/v3/user/{Uri.EscapeDataString(alice)}/filter/{filterId}", token);
        (status, readBack.ToJsonString()).Should().Be((200, definition.ToJsonString()));

        var sync = await SyncOkAsync(token, $"filter={filterId}");
        Bodies(Section(sync, "join", roomId)!).Should().Equal("m2");
        Section(sync, "join", roomId)!["timeline"]!["limited"]!.GetValue<bool>().Should().BeTrue();
        Section(sync, "join", otherRoom).Should().BeNull();

        var inline = """{"room":{"timeline":{"limit":1,"not_types":["m.room.message"]},"state":{"types":["m.room.create"]}}}""";
        var room = Section(await SyncOkAsync(token, "filter=" + Uri.EscapeDataString(inline)), "join", roomId)!;
        Bodies(room).Should().BeEmpty();
        room["state"]!["events"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).Should().Equal("m.room.create");

        var senders = """{"room":{"timeline":{"senders":["@nobody:localhost"]}}}""";
        Section(await SyncOkAsync(token, "filter=" + Uri.EscapeDataString(senders)), "join", roomId)!["timeline"]!["events"]!.AsArray().Should().BeEmpty();

        var lazy = """{"room":{"state":{"lazy_load_members":true}}}""";
        var lazyRoom = Section(await SyncOkAsync(token, "filter=" + Uri.EscapeDataString(lazy)), "join", roomId)!;
        lazyRoom["summary"]!["m.joined_member_count"]!.GetValue<int>().Should().Be(1);
    }

    [Theory]
    [InlineData("since=garbage", "M_INVALID_PARAM")]
    [InlineData("since=e999999999_0", "M_INVALID_PARAM")]
    [InlineData("since=e0_999999999", "M_INVALID_PARAM")]
    [InlineData("since=s12", "M_INVALID_PARAM")]
    [InlineData("filter=nosuchfilter", "M_INVALID_PARAM")]
    [InlineData("filter=%7Bnot%20json", "M_INVALID_PARAM")]
    [InlineData("filter=%7B%22room%22%3A5%7D", "M_BAD_JSON")]
    [InlineData("timeout=soon", "M_INVALID_PARAM")]
    [InlineData("full_state=yes", "M_INVALID_PARAM")]
    [InlineData("set_presence=busy", "M_INVALID_PARAM")]
    public async Task Bad_tokens_and_filters_are_refused_with_a_400(string query, string errcode)
    {
        var (_, token) = await host.RegisterAsync();
        var (status, body) = await host.GetAsync($"{Sync}?{query}", token);
        (status, body["errcode"]?.GetValue<string>()).Should().Be((400, errcode), body.ToJsonString());
    }

    [Fact]
    public async Task A_bad_filter_upload_is_refused_and_nothing_is_stored()
    {
        var (alice, token) = await host.RegisterAsync();
        var (status, body) = await host.PostAsync($"/_matrix/client/v3/user/{Uri.EscapeDataString(alice)}/filter",
            new JsonObject { ["room"] = new JsonObject { ["timeline"] = new JsonObject { ["limit"] = "ten" } } }, token);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_BAD_JSON"));
        var (other, otherToken) = await host.RegisterAsync();
        (await host.PostAsync($"/_matrix/client/v3/user/{Uri.EscapeDataString(alice)}/filter", new JsonObject(), otherToken)).Status.Should().Be(403);
        other.Should().NotBe(alice);
    }

    [Fact]
    public async Task A_guest_syncs_the_rooms_it_joined()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject
        {
            ["preset"] = "public_chat",
            ["initial_state"] = new JsonArray(
                new JsonObject { ["type"] = "m.room.guest_access", ["state_key"] = "", ["content"] = new JsonObject { ["guest_access"] = "can_join" } }),
        });
        await host.SendMessageAsync(aliceToken, roomId, "hello guest");
        var (_, guestToken) = await host.RegisterGuestAsync();
        (await host.JoinAsync(guestToken, roomId)).Status.Should().Be(200);

        var sync = await SyncOkAsync(guestToken);
        Bodies(Section(sync, "join", roomId)!).Should().Contain("hello guest");

        // Guest access withdrawn: the guest is removed, and sees that (and nothing the room says afterwards).
        await host.SetStateAsync(aliceToken, roomId, "m.room.guest_access", new JsonObject { ["guest_access"] = "forbidden" });
        await host.SendMessageAsync(aliceToken, roomId, "guests gone");
        var after = await SyncOkAsync(guestToken, $"since={Since(sync)}");
        Section(after, "join", roomId).Should().BeNull();
        var left = Section(after, "leave", roomId)!;
        left["timeline"]!["events"]!.AsArray().Should().ContainSingle()
            .Which!["content"]!["membership"]!.GetValue<string>().Should().Be("leave");
    }

    [Fact]
    public async Task Account_data_typing_and_receipts_arrive_through_sync()
    {
        var (alice, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var eventId = await host.SendMessageAsync(token, roomId, "read me");
        var user = $"/_matrix/client/v3/user/{Uri.EscapeDataString(alice)}";
        (await host.GetAsync($"{user}/account_data/org.example.settings", token)).Status.Should().Be(404);
        (await host.GetAsync($"{user}/rooms/{HostFixture.Room(roomId)}/account_data/org.example.tag", token)).Body["errcode"]!.GetValue<string>().Should().Be("M_NOT_FOUND");
        var first = await SyncOkAsync(token);

        (await host.SendAsync(HttpMethod.Put, $"{user}/account_data/org.example.settings", """{"theme":"dark"}""", token)).Status.Should().Be(200);
        (await host.SendAsync(HttpMethod.Put, $"{user}/rooms/{HostFixture.Room(roomId)}/account_data/org.example.tag", """{"pinned":true}""", token)).Status.Should().Be(200);
        (await host.SendAsync(HttpMethod.Put, $"{Rooms(roomId)}/typing/{Uri.EscapeDataString(alice)}", """{"typing":true,"timeout":30000}""", token)).Status.Should().Be(200);
        (await host.PostAsync($"{Rooms(roomId)}/receipt/m.read/{Uri.EscapeDataString(eventId)}", new JsonObject(), token)).Status.Should().Be(200);
        (await host.PostAsync($"{Rooms(roomId)}/read_markers", new JsonObject { ["m.fully_read"] = eventId }, token)).Status.Should().Be(200);
        (await host.GetAsync($"{user}/account_data/org.example.settings", token)).Body["theme"]!.GetValue<string>().Should().Be("dark");
        (await host.SendAsync(HttpMethod.Put, $"{user}/account_data/m.fully_read", "{}", token)).Status.Should().Be(405);

        var sync = await SyncOkAsync(token, $"since={Since(first)}");
        sync["account_data"]!["events"]!.AsArray().Should().ContainSingle(e => e!["type"]!.GetValue<string>() == "org.example.settings");
        var room = Section(sync, "join", roomId)!;
        room["account_data"]!["events"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).Should().BeEquivalentTo(["org.example.tag", "m.fully_read"]);
        var ephemeral = room["ephemeral"]!["events"]!.AsArray();
        ephemeral.Single(e => e!["type"]!.GetValue<string>() == "m.typing")!["content"]!["user_ids"]!.AsArray().Select(u => u!.GetValue<string>()).Should().Equal(alice);
        ephemeral.Single(e => e!["type"]!.GetValue<string>() == "m.receipt")!["content"]![eventId]!["m.read"]![alice]!["ts"]!.GetValueKind().Should().Be(JsonValueKind.Number);

        var quiet = await SyncOkAsync(token, $"since={Since(sync)}");
        quiet["account_data"]!["events"]!.AsArray().Should().BeEmpty();
        Section(quiet, "join", roomId).Should().BeNull();

        // Not joined: no typing, no receipt.
        var (_, strangerToken) = await host.RegisterAsync();
        (await host.PostAsync($"{Rooms(roomId)}/receipt/m.read/{Uri.EscapeDataString(eventId)}", new JsonObject(), strangerToken)).Status.Should().Be(403);
    }
}
