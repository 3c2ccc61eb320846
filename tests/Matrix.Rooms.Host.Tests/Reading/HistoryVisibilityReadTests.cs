using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Reading;

/// <summary>Visibility-filtered reads over HTTP: kicked users, /event, /state as of leave, and stable pagination.</summary>
[Collection(HostCollection.Name)]
public sealed class HistoryVisibilityReadTests(HostFixture host)
{
    private static string Rooms(string roomId) => $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}";

    private static IEnumerable<string> Bodies(JsonObject page) =>
        page["chunk"]!.AsArray().Where(e => e!["type"]!.GetValue<string>() == "m.room.message").Select(e => e!["content"]!["body"]!.GetValue<string>());

    [Fact]
    public async Task A_kicked_user_cannot_read_what_was_sent_after_the_kick()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(bobToken, roomId)).Status.Should().Be(200);
        await host.SendMessageAsync(aliceToken, roomId, "before the kick");
        (await host.PostAsync($"{Rooms(roomId)}/kick", new JsonObject { ["user_id"] = bob, ["reason"] = "bye" }, aliceToken)).Status.Should().Be(200);
        var secret = await host.SendMessageAsync(aliceToken, roomId, "after the kick");

        var (status, page) = await host.GetAsync($"{Rooms(roomId)}/messages?limit=100", bobToken);
        status.Should().Be(200);
        Bodies(page).Should().Contain("before the kick").And.NotContain("after the kick");

        var (eventStatus, eventBody) = await host.GetAsync($"{Rooms(roomId)}/event/{Uri.EscapeDataString(secret)}", bobToken);
        (eventStatus, eventBody["errcode"]!.GetValue<string>()).Should().Be((404, "M_NOT_FOUND"));

        await host.SetStateAsync(aliceToken, roomId, "m.room.topic", new JsonObject { ["topic"] = "set after the kick" });
        var (_, state) = await host.SendAsync(HttpMethod.Get, $"{Rooms(roomId)}/state", token: bobToken);
        state.ToJsonString().Should().NotContain("set after the kick", "a user who left sees the state as of their leave");
    }

    [Fact]
    public async Task A_user_who_joins_later_sees_shared_history_but_not_joined_only_history()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (_, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        await host.SendMessageAsync(aliceToken, roomId, "shared era");
        await host.SetStateAsync(aliceToken, roomId, "m.room.history_visibility", new JsonObject { ["history_visibility"] = "joined" });
        await host.SendMessageAsync(aliceToken, roomId, "joined era");
        (await host.JoinAsync(bobToken, roomId)).Status.Should().Be(200);

        var (_, page) = await host.GetAsync($"{Rooms(roomId)}/messages?limit=100", bobToken);
        Bodies(page).Should().Contain("shared era").And.NotContain("joined era");
    }

    [Fact]
    public async Task Pagination_tokens_walk_the_whole_timeline_and_give_the_same_page_twice()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        for (var i = 0; i < 12; i++) await host.SendMessageAsync(token, roomId, $"m{i}");

        var seen = new List<string>();
        string? from = null;
        for (var pageNo = 0; pageNo < 20; pageNo++)
        {
            var url = $"{Rooms(roomId)}/messages?dir=b&limit=5" + (from is null ? "" : $"&from={from}");
            var (_, page) = await host.GetAsync(url, token);
            var (_, again) = await host.GetAsync(url, token);
            again.ToJsonString().Should().Be(page.ToJsonString(), "a token names a fixed place in the stream");
            seen.AddRange(Bodies(page));
            from = page["end"]?.GetValue<string>();
            if (from is null) break;
        }
        seen.Should().Equal(Enumerable.Range(0, 12).Reverse().Select(i => $"m{i}"));

        var (_, forward) = await host.GetAsync($"{Rooms(roomId)}/messages?dir=f&limit=100&from=s0", token);
        Bodies(forward).Should().Equal(Enumerable.Range(0, 12).Select(i => $"m{i}"));
    }

    [Fact]
    public async Task A_stranger_cannot_read_a_shared_room_and_bad_tokens_are_invalid_params()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (_, strangerToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        var (status, body) = await host.GetAsync($"{Rooms(roomId)}/messages", strangerToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));

        (status, body) = await host.GetAsync($"{Rooms(roomId)}/messages?from=garbage", aliceToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));
    }

    [Fact]
    public async Task Sending_with_the_same_transaction_id_is_idempotent()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var url = $"{Rooms(roomId)}/send/m.room.message/txn1";
        var content = new JsonObject { ["msgtype"] = "m.text", ["body"] = "once" }.ToJsonString();
        var (_, first) = await host.SendAsync(HttpMethod.Put, url, content, token);
        var (_, second) = await host.SendAsync(HttpMethod.Put, url, content, token);
        second["event_id"]!.GetValue<string>().Should().Be(first["event_id"]!.GetValue<string>());
        var (_, page) = await host.GetAsync($"{Rooms(roomId)}/messages?limit=100", token);
        Bodies(page).Count(b => b == "once").Should().Be(1);
    }
}
