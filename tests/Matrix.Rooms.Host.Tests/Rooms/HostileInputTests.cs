using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Rooms;

/// <summary>Hostile input gets a Matrix 4xx every time: never a 500, never an HTML page.</summary>
[Collection(HostCollection.Name)]
public sealed class HostileInputTests(HostFixture host)
{
    public static TheoryData<string, string> Bodies() => new()
    {
        { new string('[', 10_000), "M_NOT_JSON" },                                    // unterminated, and deeper than the policy allows
        { "{\"user_id\": \"@a:b\", \"user_id\": 1", "M_NOT_JSON" },                    // truncated
        { "\"just a string\"", "M_BAD_JSON" },
        { "{\"user_id\": [\"@a:localhost\"]}", "M_BAD_JSON" },
        { "{\"user_id\": \"@\\u0000nul:localhost\"}", "M_BAD_JSON" },                // NUL cannot be stored (jsonb)
        { "{\"user_id\": \"@\u202Eevil:localhost\"}", "M_INVALID_PARAM" },              // right-to-left override
        { "{\"user_id\": \"@" + new string('a', 300) + ":localhost\"}", "M_INVALID_PARAM" }, // longer than 255 bytes
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Malformed_invites_are_refused_with_a_matrix_error(string body, string errcode)
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var (status, json) = await host.SendAsync(HttpMethod.Post, $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/invite", body, token);
        (status, json["errcode"]?.GetValue<string>()).Should().Be((400, errcode));
    }

    [Fact]
    public async Task An_oversized_body_is_413_M_TOO_LARGE()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var huge = new JsonObject { ["msgtype"] = "m.text", ["body"] = new string('x', 2 * 1024 * 1024) }.ToJsonString();
        var (status, json) = await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/send/m.room.message/big", huge, token);
        (status, json["errcode"]!.GetValue<string>()).Should().Be((413, "M_TOO_LARGE"));
    }

    [Theory]
    [InlineData("/_matrix/client/v3/rooms/%21%E2%80%AE:localhost/messages")]
    [InlineData("/_matrix/client/v3/rooms/not-a-room/state")]
    [InlineData("/_matrix/client/v3/rooms/%21room:bad%20host/members")]
    public async Task Bad_room_ids_in_paths_are_invalid_params(string url)
    {
        var (_, token) = await host.RegisterAsync();
        var (status, json) = await host.GetAsync(url, token);
        (status, json["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));
    }

    [Fact]
    public async Task A_wrong_method_on_a_known_path_is_a_matrix_error()
    {
        var (status, json) = await host.SendAsync(HttpMethod.Delete, "/_matrix/client/v3/createRoom");
        status.Should().BeOneOf(404, 405);
        json["errcode"]!.GetValue<string>().Should().Be("M_UNRECOGNIZED");
    }
}
