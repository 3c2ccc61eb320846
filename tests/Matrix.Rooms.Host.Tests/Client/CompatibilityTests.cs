using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Host.Tests.ThirdPartyInvites;

namespace Matrix.Rooms.Host.Tests.Client;

/// <summary>What real clients send, accepted deliberately where it goes beyond the spec's letter (docs/api.md "Compatibility").</summary>
[Collection(HostCollection.Name)]
public sealed class JoinCompatibilityTests(HostFixture host)
{
    [Fact]
    public async Task Joining_by_room_ID_answers_the_room_ID()
    {
        var (_, alice) = await host.RegisterAsync();
        var (_, bob) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });

        var (status, body) = await host.JoinAsync(bob, room);

        status.Should().Be(200);
        body["room_id"]!.GetValue<string>().Should().Be(room);
    }

    [Fact]
    public async Task A_guest_joins_through_join_by_ID_or_alias_exactly_where_guest_access_is_can_join()
    {
        var (_, alice) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        var (_, guest) = await host.RegisterGuestAsync();
        var url = $"/_matrix/client/v3/join/{HostFixture.Room(room)}";
        var before = await host.StreamVersionAsync(room);

        var (status, body) = await host.PostAsync(url, new JsonObject(), guest);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_GUEST_ACCESS_FORBIDDEN"), "public_chat sets guest_access forbidden");
        (await host.StreamVersionAsync(room)).Should().Be(before);

        await host.SetStateAsync(alice, room, "m.room.guest_access", new JsonObject { ["guest_access"] = "can_join" });
        (status, body) = await host.PostAsync(url, new JsonObject(), guest);
        status.Should().Be(200, body.ToJsonString());
        body["room_id"]!.GetValue<string>().Should().Be(room);
    }
}

[Collection(ThirdPartyInviteCollection.Name)]
public sealed class SendAttemptCompatibilityTests(ThirdPartyInviteFixture host)
{
    [Fact]
    public async Task The_identity_server_takes_send_attempt_as_a_numeric_string_as_matrix_js_sdk_sends_it()
    {
        var (_, token) = await host.RegisterAsync();
        var url = "/_matrix/identity/v2/validate/email/requestToken";
        var address = ThirdPartyInviteFixture.NewAddress();

        var sid = (await host.PostOkAsync(url, new JsonObject { ["client_secret"] = "s3cret", ["email"] = address, ["send_attempt"] = "1" }, token))
            ["sid"]!.GetValue<string>();
        (await host.PostOkAsync(url, new JsonObject { ["client_secret"] = "s3cret", ["email"] = address, ["send_attempt"] = 1 }, token))
            ["sid"]!.GetValue<string>().Should().Be(sid, "\"1\" and 1 are the same attempt");

        foreach (var bad in new JsonNode[] { "one", "-1", "1.5", " 1", true })
        {
            var (status, body) = await host.PostAsync(url, new JsonObject { ["client_secret"] = "s3cret", ["email"] = address, ["send_attempt"] = bad }, token);
            (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_BAD_JSON"), bad.ToJsonString());
        }
    }
}
