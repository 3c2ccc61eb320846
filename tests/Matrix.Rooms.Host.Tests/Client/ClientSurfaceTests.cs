using System.Text.Json.Nodes;
using Alba;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Client;

/// <summary>What clients call at start-up: capabilities, joined rooms, push rules, .well-known, CORS, and their own transaction IDs.</summary>
[Collection(HostCollection.Name)]
public sealed class ClientSurfaceTests(HostFixture host)
{
    [Fact]
    public async Task Capabilities_list_the_engines_room_versions_and_its_default_and_no_password_change()
    {
        var (_, token) = await host.RegisterAsync();
        var (status, body) = await host.GetAsync("/_matrix/client/v3/capabilities", token);

        status.Should().Be(200);
        var versions = body["capabilities"]!["m.room_versions"]!;
        versions["default"]!.GetValue<string>().Should().Be("12");
        versions["available"]!.AsObject().Select(p => p.Key).Should().Equal("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12");
        versions["available"]!.AsObject().Select(p => p.Value!.GetValue<string>()).Should().AllBe("stable");
        body["capabilities"]!["m.change_password"]!["enabled"]!.GetValue<bool>().Should().BeFalse();
    }

    [Fact]
    public async Task Versions_claim_up_to_v1_15_and_what_v1_12_to_v1_15_changed_in_scope_holds()
    {
        var (status, body) = await host.SendAsync(HttpMethod.Get, "/_matrix/client/versions");

        status.Should().Be(200);
        var versions = body["versions"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
        versions.Should().Contain(["v1.11", "v1.12", "v1.13", "v1.14", "v1.15"]);
        versions.Should().NotContain("v1.16", "use_state_after and custom profile fields (v1.16) are not served");
        versions[^1].Should().Be("v1.15");

        // v1.12: join and knock take `via` (MSC4156); one server, so it names nothing to ask.
        var (_, alice) = await host.RegisterAsync();
        var (_, bob) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await host.PostAsync($"/_matrix/client/v3/join/{HostFixture.Room(room)}?via=localhost", new JsonObject(), bob)).Status.Should().Be(200);
        // v1.15: a server without the OAuth 2.0 API answers its metadata 404 M_UNRECOGNIZED, which clients read as "not offered".
        var (metadataStatus, metadata) = await host.SendAsync(HttpMethod.Get, "/_matrix/client/v1/auth_metadata");
        metadataStatus.Should().Be(404);
        metadata["errcode"]!.GetValue<string>().Should().Be("M_UNRECOGNIZED");
        // v1.15: createRoom's topic also as an m.topic text/plain block.
        var topicRoom = await host.CreateRoomAsync(alice, new JsonObject { ["topic"] = "tea" });
        var (_, topic) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(topicRoom)}/state/m.room.topic/", alice);
        topic["m.topic"]!["m.text"]![0]!["body"]!.GetValue<string>().Should().Be("tea");
    }

    [Fact]
    public async Task Joined_rooms_lists_the_rooms_the_caller_is_joined_to_now()
    {
        var (_, alice) = await host.RegisterAsync();
        var (_, bob) = await host.RegisterAsync();
        var kept = await host.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        var left = await host.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(bob, kept)).Status.Should().Be(200);
        (await host.JoinAsync(bob, left)).Status.Should().Be(200);
        await host.PostOkAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(left)}/leave", new JsonObject(), bob);

        var (status, body) = await host.GetAsync("/_matrix/client/v3/joined_rooms", bob);

        status.Should().Be(200);
        body["joined_rooms"]!.AsArray().Select(r => r!.GetValue<string>()).Should().Equal(kept);
    }

    [Fact]
    public async Task Push_rules_are_the_specs_default_set_for_the_user_and_a_default_rule_can_be_switched()
    {
        var (alice, token) = await host.RegisterAsync();
        var (status, body) = await host.GetAsync("/_matrix/client/v3/pushrules/", token);

        status.Should().Be(200);
        var global = body["global"]!;
        foreach (var kind in new[] { "override", "content", "room", "sender", "underride" }) global[kind].Should().BeOfType<JsonArray>(kind);
        var overrides = global["override"]!.AsArray().Select(r => r!["rule_id"]!.GetValue<string>()).ToList();
        overrides.Should().Equal(".m.rule.master", ".m.rule.suppress_notices", ".m.rule.invite_for_me", ".m.rule.member_event",
            ".m.rule.is_user_mention", ".m.rule.is_room_mention", ".m.rule.tombstone", ".m.rule.reaction", ".m.rule.room.server_acl",
            ".m.rule.suppress_edits");
        global["underride"]!.AsArray().Select(r => r!["rule_id"]!.GetValue<string>()).Should().Equal(".m.rule.call",
            ".m.rule.encrypted_room_one_to_one", ".m.rule.room_one_to_one", ".m.rule.message", ".m.rule.encrypted");
        var invite = global["override"]!.AsArray().Single(r => r!["rule_id"]!.GetValue<string>() == ".m.rule.invite_for_me")!;
        invite["conditions"]!.AsArray().Should().Contain(c => c!["key"]!.GetValue<string>() == "state_key" && c["pattern"]!.GetValue<string>() == alice);
        global["override"]![0]!["enabled"]!.GetValue<bool>().Should().BeFalse("the master rule is off by default");

        (await host.SendAsync(HttpMethod.Put, "/_matrix/client/v3/pushrules/global/override/.m.rule.master/enabled", """{"enabled":true}""", token))
            .Status.Should().Be(200);
        (await host.GetAsync("/_matrix/client/v3/pushrules/global/override/.m.rule.master/enabled", token)).Body["enabled"]!.GetValue<bool>()
            .Should().BeTrue();
        (await host.GetAsync("/_matrix/client/v3/pushrules/global/", token)).Body["override"]![0]!["enabled"]!.GetValue<bool>().Should().BeTrue();
        var (_, other) = await host.RegisterAsync();
        (await host.GetAsync("/_matrix/client/v3/pushrules/global/override/.m.rule.master", other)).Body["enabled"]!.GetValue<bool>()
            .Should().BeFalse("another user's rules are their own");

        (await host.GetAsync("/_matrix/client/v3/pushrules/global/override/.m.rule.nothing", token)).Body["errcode"]!.GetValue<string>()
            .Should().Be("M_NOT_FOUND");
        (await host.GetAsync("/_matrix/client/v3/pushrules/global/sideways/.m.rule.master", token)).Status.Should().Be(400);
        (await host.SendAsync(HttpMethod.Put, "/_matrix/client/v3/pushrules/global/override/.m.rule.master/enabled", """{"enabled":"yes"}""", token))
            .Body["errcode"]!.GetValue<string>().Should().Be("M_BAD_JSON");
    }

    [Fact]
    public async Task Well_known_names_the_homeserver_base_url()
    {
        var result = await host.Host.Scenario(s =>
        {
            s.Get.Url("/.well-known/matrix/client");
            s.StatusCodeShouldBe(200);
        });
        var body = JsonNode.Parse(await result.ReadAsTextAsync())!;
        body["m.homeserver"]!["base_url"]!.GetValue<string>().Should().StartWith("http");
    }

    [Fact]
    public async Task Browser_clients_get_the_specs_CORS_headers_on_preflight_and_on_errors()
    {
        var preflight = await host.Host.Scenario(s =>
        {
            s.ConfigureHttpContext(c =>
            {
                c.Request.Method = "OPTIONS";
                c.Request.Path = "/_matrix/client/v3/createRoom";
                c.Request.Headers.Origin = "https://app.element.io";
                c.Request.Headers.AccessControlRequestMethod = "POST";
                c.Request.Headers.AccessControlRequestHeaders = "authorization,content-type";
            });
            s.IgnoreStatusCode();
        });
        preflight.Context.Response.StatusCode.Should().Be(204);
        preflight.Context.Response.Headers.AccessControlAllowOrigin.ToString().Should().Be("*");
        preflight.Context.Response.Headers.AccessControlAllowMethods.ToString().Should().Contain("POST");
        preflight.Context.Response.Headers.AccessControlAllowHeaders.ToString().ToLowerInvariant().Should().Contain("authorization");

        var refused = await host.Host.Scenario(s =>
        {
            s.Get.Url("/_matrix/client/v3/joined_rooms");
            s.WithRequestHeader("Origin", "https://app.element.io");
            s.StatusCodeShouldBe(401);
        });
        refused.Context.Response.Headers.AccessControlAllowOrigin.ToString().Should().Be("*");
    }

    [Fact]
    public async Task The_sending_device_sees_its_transaction_id_and_no_other_device_does()
    {
        var username = "txn" + Guid.NewGuid().ToString("N")[..10];
        var (_, token) = await host.RegisterAsync(username);
        var otherDevice = (await host.PostOkAsync("/_matrix/client/v3/login", new JsonObject
        {
            ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = username },
            ["password"] = "correct horse battery",
        }))["access_token"]!.GetValue<string>();
        var room = await host.CreateRoomAsync(token);
        var (status, sent) = await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/send/m.room.message/my-txn-1",
            """{"msgtype":"m.text","body":"hi"}""", token);
        status.Should().Be(200);
        var eventId = sent["event_id"]!.GetValue<string>();

        var mine = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/messages?dir=b&limit=5", token);
        mine.Body["chunk"]!.AsArray().Single(e => e!["event_id"]!.GetValue<string>() == eventId)!["unsigned"]!["transaction_id"]!
            .GetValue<string>().Should().Be("my-txn-1");
        (await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/event/{Uri.EscapeDataString(eventId)}", token))
            .Body["unsigned"]!["transaction_id"]!.GetValue<string>().Should().Be("my-txn-1");

        var theirs = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/messages?dir=b&limit=5", otherDevice);
        theirs.Body["chunk"]!.AsArray().Single(e => e!["event_id"]!.GetValue<string>() == eventId)!["unsigned"]?["transaction_id"]
            .Should().BeNull("the transaction ID is the sending device's alone");
    }
}
