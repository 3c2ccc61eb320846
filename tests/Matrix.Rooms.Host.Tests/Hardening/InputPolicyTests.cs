using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Admin;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Tests.Support;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.Hardening;

/// <summary>
/// Issue 9, defects 1, 3 and 4 on the real store: whatever the HTTP gate accepts can be read back everywhere, and what it
/// refuses is a Matrix 4xx with nothing stored.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class InputPolicyTests(HostFixture host)
{
    /// <summary><paramref name="depth"/> nested arrays around a number.</summary>
    private static string Nested(int depth) => new string('[', depth) + "0" + new string(']', depth);

    /// <summary>A message body whose content nests <paramref name="depth"/> containers (the content object is the first).</summary>
    private static string DeepMessage(int depth) => $"{{\"msgtype\":\"m.text\",\"body\":\"x\",\"x\":{Nested(depth - 1)}}}";

    [Fact]
    public async Task Content_at_the_depth_limit_is_accepted_and_the_room_stays_readable_everywhere()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);

        var (status, text, _) = await host.SendRawAsync("PUT", $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/send/m.room.message/deep",
            Encoding.UTF8.GetBytes(DeepMessage(JsonInputPolicy.MaxDepth)), token);
        status.Should().Be(200, text);
        (status, text, _) = await host.SendRawAsync("PUT", $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/state/org.example.deep/k",
            Encoding.UTF8.GetBytes($"{{\"x\":{Nested(JsonInputPolicy.MaxDepth - 1)}}}"), token);
        status.Should().Be(200, text);

        var ids = await host.AssertReadableAsync(roomId, token);
        ids.Should().HaveCount((int)await host.StreamVersionAsync(roomId));
    }

    [Fact]
    public async Task Content_past_the_depth_limit_is_refused_and_nothing_is_stored()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var before = await host.StreamVersionAsync(roomId);

        foreach (var depth in new[] { JsonInputPolicy.MaxDepth + 1, 100, 1000 })
        {
            var (status, text, body) = await host.SendRawAsync("PUT", $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/send/m.room.message/d{depth}",
                Encoding.UTF8.GetBytes(DeepMessage(depth)), token);
            (status, body?["errcode"]?.GetValue<string>()).Should().Be((400, "M_BAD_JSON"), text);
        }
        (await host.StreamVersionAsync(roomId)).Should().Be(before);
        await host.AssertReadableAsync(roomId, token);
    }

    public static TheoryData<string, byte[]> EdgeCases() => new()
    {
        { "lone surrogate", Encoding.UTF8.GetBytes("{\"msgtype\":\"m.text\",\"body\":\"\\ud800\"}") },
        { "invalid utf-8", [.. "{\"msgtype\":\"m.text\",\"body\":\""u8, 0xED, 0xA0, 0x80, .. "\"}"u8] },
        { "duplicate keys", Encoding.UTF8.GetBytes("{\"user_id\":\"@b:localhost\",\"user_id\":\"@b:localhost\",\"body\":\"x\",\"msgtype\":\"m.text\"}") },
        { "NUL", Encoding.UTF8.GetBytes("{\"msgtype\":\"m.text\",\"body\":\"a\\u0000b\",\"user_id\":\"@a\\u0000:localhost\"}") },
        { "1e999", Encoding.UTF8.GetBytes("{\"msgtype\":\"m.text\",\"body\":\"x\",\"n\":1e999}") },
        { "1e-400", Encoding.UTF8.GetBytes("{\"msgtype\":\"m.text\",\"body\":\"x\",\"n\":1e-400}") },
        { "long fraction", Encoding.UTF8.GetBytes("{\"msgtype\":\"m.text\",\"body\":\"x\",\"n\":1.00000000000000000000000000001}") },
    };

    /// <summary>Every kind of endpoint that reads a body, with the room it would write to.</summary>
    private static IEnumerable<(string Method, string Url)> BodyEndpoints(string roomId)
    {
        var room = $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}";
        yield return ("PUT", $"{room}/send/m.room.message/edge{Guid.NewGuid():N}");
        yield return ("PUT", $"{room}/state/m.room.topic/");
        yield return ("POST", $"{room}/invite");
        yield return ("POST", $"{room}/kick");
        yield return ("POST", $"{room}/ban");
        yield return ("POST", $"{room}/leave");
        yield return ("POST", $"/_matrix/client/api/v1/rooms/{HostFixture.Room(roomId)}/invite");
        yield return ("POST", "/_matrix/client/v3/createRoom");
        yield return ("POST", "/_matrix/client/v3/register");
        yield return ("POST", "/_matrix/client/v3/login");
        yield return ("POST", "/_matrix/identity/v2/lookup");
        yield return ("POST", "/_matrix/identity/v2/validate/email/requestToken");
    }

    [Theory]
    [MemberData(nameof(EdgeCases))]
    public async Task Text_and_json_edge_cases_are_matrix_4xx_on_every_endpoint_with_nothing_stored(string name, byte[] body)
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var before = await host.StreamVersionAsync(roomId);

        foreach (var (method, url) in BodyEndpoints(roomId))
        {
            var (status, text, json) = await host.SendRawAsync(method, url, body, token);
            status.Should().BeInRange(400, 499, $"{name}: {method} {url} answered {text}");
            json?["errcode"]?.GetValue<string>().Should().BeOneOf(["M_BAD_JSON", "M_NOT_JSON"], $"{name}: {method} {url} answered {text}");
        }
        (await host.StreamVersionAsync(roomId)).Should().Be(before, $"{name}: nothing may be stored");
        await host.AssertReadableAsync(roomId, token);
    }

    [Fact]
    public async Task Size_limits_are_enforced_and_nothing_is_stored()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var room = $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}";
        var before = await host.StreamVersionAsync(roomId);

        var big = new JsonObject { ["msgtype"] = "m.text", ["body"] = new string('x', 70_000) }.ToJsonString();
        var (status, text, json) = await host.SendRawAsync("PUT", $"{room}/send/m.room.message/big", Encoding.UTF8.GetBytes(big), token);
        (status, json?["errcode"]?.GetValue<string>()).Should().Be((413, "M_TOO_LARGE"), text);

        (status, text, json) = await host.SendRawAsync("PUT", $"{room}/state/org.example.k/{new string('k', 300)}", "{}"u8.ToArray(), token);
        (status, json?["errcode"]?.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"), text);

        (status, text, json) = await host.SendRawAsync("PUT", $"{room}/send/{new string('t', 300)}/longtype", "{}"u8.ToArray(), token);
        (status, json?["errcode"]?.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"), text);

        (await host.StreamVersionAsync(roomId)).Should().Be(before);
    }

    [Theory]
    // (NUL in the path never gets this far: Kestrel refuses such a path itself.)
    [InlineData("/_matrix/client/v3/rooms/%21ab:localhost/state?x=%00")]
    [InlineData("/_matrix/client/v3/rooms/%21ab:localhost/messages?from=%00&dir=b")]
    public async Task Nul_in_a_path_or_query_is_refused(string url)
    {
        var (_, token) = await host.RegisterAsync();
        var (status, text, json) = await host.SendRawAsync("GET", url, null, token);
        (status, json?["errcode"]?.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"), text);
    }

    [Theory]
    [InlineData("at=9999999999999999")]
    [InlineData("at=-9999999999999999")]
    [InlineData("at=99999-01-01T00:00:00Z")]
    [InlineData("at_version=99999999999999999999")]
    public async Task Admin_points_out_of_range_are_invalid_params(string query)
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var (status, text, json) = await host.SendRawAsync("GET", $"{AdminApi.Prefix}/rooms/{HostFixture.Room(roomId)}/state?{query}", null);
        (status, json?["errcode"]?.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"), text);
    }

    [Fact]
    public async Task Bus_commands_obey_the_same_policy_and_never_reach_the_database_with_unstorable_text()
    {
        var (alice, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var before = await host.StreamVersionAsync(roomId);

        var nulInvitee = await host.Bus.InvokeAsync<RoomCommandResult>(new InviteUser { RoomId = roomId, Sender = alice, UserId = "@a\0b:localhost" });
        nulInvitee.Error!.ErrCode.Should().Be("M_BAD_JSON");
        var nulRoom = await host.Bus.InvokeAsync<RoomCommandResult>(new InviteUser { RoomId = "!a\0b:localhost", Sender = alice, UserId = "@b:localhost" });
        nulRoom.Error!.Status.Should().BeInRange(400, 404);
        var floatContent = await host.Bus.InvokeAsync<RoomCommandResult>(new SendRoomEvent
            { RoomId = roomId, Sender = alice, EventType = "m.room.message", Content = new JsonObject { ["n"] = 0.5 } });
        floatContent.Error!.ErrCode.Should().Be("M_BAD_JSON");
        var surrogateState = await host.Bus.InvokeAsync<RoomCommandResult>(new SetRoomState
            { RoomId = roomId, Sender = alice, EventType = "m.room.topic", StateKey = "\ud800", Content = new JsonObject { ["topic"] = "x" } });
        surrogateState.Error!.ErrCode.Should().Be("M_BAD_JSON");
        var nulToken = await host.Bus.InvokeAsync<RoomCommandResult>(new Domain.ThirdPartyInvites.ExchangeThirdPartyInvite
            { RoomId = roomId, Sender = alice, Mxid = "@b:localhost", Signed = new JsonObject { ["mxid"] = "@b:localhost", ["token"] = "a\0b" } });
        nulToken.Error!.ErrCode.Should().Be("M_BAD_JSON");

        (await host.StreamVersionAsync(roomId)).Should().Be(before);
    }
}
