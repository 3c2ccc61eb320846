using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Matrix.Rooms.Host.Tests.Conformance.OpenApi;

/// <summary>
/// Spec conformance: every client endpoint the Host serves is called (success answers and a few errors) and each answer
/// body is validated against the response schema the pinned matrix-spec OpenAPI files define for its path, method and
/// status. A shape regression (a missing required field, a null where a string is due, an unknown enum value) fails here.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class OpenApiConformanceTests(HostFixture fixture, ITestOutputHelper output)
{
    private const string V3 = "/_matrix/client/v3";

    /// <summary>One request: the Host's route (what the spec is looked up by, unless <paramref name="SpecPath"/> says
    /// otherwise), the URL sent, and the status it must answer.</summary>
    private sealed record Call(string Method, string Route, string Url, int Status, JsonNode? Body = null, string? Token = null, string? SpecPath = null);

    /// <summary>Host routes this table does not call, each with why.</summary>
    private static readonly Dictionary<string, string> NotCalled = new()
    {
        // Needs a reachable identity server; its answers are covered in ThirdPartyInvites. The 400 row is still called.
        ["POST /_matrix/client/v3/account/3pid/bind"] = "",
    };

    [Fact]
    public async Task Every_answer_matches_the_response_schema_the_spec_defines()
    {
        var calls = await TableAsync();
        var failures = new List<string>();
        foreach (var call in calls)
        {
            var (status, text) = await SendAsync(call);
            var body = text.Length == 0 ? null : JsonNode.Parse(text);
            var where = $"{call.Method} {call.Url} → {status}";
            if (status != call.Status)
            {
                failures.Add($"{where}: expected status {call.Status}: {text}");
                continue;
            }
            var problems = OpenApiSpec.Pinned.Validate(call.Method, call.SpecPath ?? call.Route, status, body);
            failures.AddRange(problems.Select(p => $"{where}: {p}   body: {Shorten(text)}"));
        }
        foreach (var failure in failures) output.WriteLine(failure);
        failures.Should().BeEmpty();
    }

    [Fact]
    public async Task The_table_calls_every_client_route_the_Host_serves()
    {
        var served = fixture.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && (raw.StartsWith(V3, StringComparison.Ordinal) || raw is "/_matrix/client/versions" or "/.well-known/matrix/client"))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} {e.RoutePattern.RawText}"))
            .Where(r => !r.StartsWith("OPTIONS", StringComparison.Ordinal))
            .ToHashSet();
        var called = (await TableAsync()).Select(c => $"{c.Method} {c.Route}").ToHashSet();
        served.Except(called).Except(NotCalled.Keys).Should().BeEmpty("every served route needs a row in the table");
        // And every route called is one the spec defines.
        (await TableAsync()).Where(c => !OpenApiSpec.Pinned.HasOperation(c.Method, c.SpecPath ?? c.Route)).Select(c => c.Route)
            .Should().BeEmpty();
    }

    [Fact]
    public void The_validator_refuses_a_broken_answer()
    {
        var spec = OpenApiSpec.Pinned;
        var good = JsonNode.Parse("""{"joined":{"@a:x":{"display_name":"A"}}}""");
        spec.Validate("GET", $"{V3}/rooms/{{roomId}}/joined_members", 200, good).Should().BeEmpty();
        spec.Validate("GET", $"{V3}/rooms/{{roomId}}/joined_members", 200, JsonNode.Parse("""{"joined":{"@a:x":{"display_name":null}}}"""))
            .Should().ContainSingle().Which.Should().Contain("display_name");
        spec.Validate("POST", $"{V3}/createRoom", 200, JsonNode.Parse("{}")).Should().ContainSingle().Which.Should().Contain("room_id");
        spec.Validate("GET", $"{V3}/rooms/{{roomId}}/messages", 200, JsonNode.Parse("""{"start":"s","chunk":[{"type":"m.room.message"}]}"""))
            .Should().Contain(p => p.Contains("event_id"));
        spec.Validate("GET", $"{V3}/register/available", 200, JsonNode.Parse("""{"available":"yes"}""")).Should().ContainSingle().Which.Should().Contain("boolean");
        spec.Validate("POST", $"{V3}/rooms/{{roomId}}/leave", 404, JsonNode.Parse("""{"error":"no"}""")).Should().ContainSingle().Which.Should().Contain("errcode");
        spec.Validate("GET", $"{V3}/rooms/{{roomId}}/members", 302, JsonNode.Parse("{}")).Should().ContainSingle().Which.Should().Contain("302");
    }

    private async Task<(int Status, string Text)> SendAsync(Call call)
    {
        var result = await fixture.Host.Scenario(s =>
        {
            s.ConfigureHttpContext(c =>
            {
                c.Request.Method = call.Method;
                c.Request.Path = Microsoft.AspNetCore.Http.PathString.FromUriComponent(call.Url.Split('?')[0]);
                c.Request.QueryString = new Microsoft.AspNetCore.Http.QueryString(call.Url.Contains('?') ? call.Url[call.Url.IndexOf('?')..] : "");
                c.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
                if (call.Body is not null)
                {
                    var bytes = System.Text.Encoding.UTF8.GetBytes(call.Body.ToJsonString());
                    c.Request.Body = new MemoryStream(bytes);
                    c.Request.ContentLength = bytes.Length;
                    c.Request.ContentType = "application/json";
                }
            });
            if (call.Token is not null) s.WithBearerToken(call.Token);
            s.IgnoreStatusCode();
        });
        return (result.Context.Response.StatusCode, await result.ReadAsTextAsync());
    }

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "…" : text;

    private static string E(string s) => Uri.EscapeDataString(s);

    /// <summary>The rooms and users the table calls with, made fresh for each table (the table changes them).</summary>
    private async Task<List<Call>> TableAsync()
    {
        var alice = await fixture.RegisterAsync();
        var bob = await fixture.RegisterAsync();
        var carol = await fixture.RegisterAsync();
        var dave = await fixture.RegisterAsync();
        var outsider = await fixture.RegisterAsync();
        var guest = await fixture.RegisterGuestAsync();
        var room = await fixture.CreateRoomAsync(alice.Token, new JsonObject { ["preset"] = "public_chat", ["name"] = "Conformance", ["topic"] = "Shapes" });
        var knockRoom = await fixture.CreateRoomAsync(alice.Token, new JsonObject
        {
            ["initial_state"] = new JsonArray(new JsonObject { ["type"] = "m.room.join_rules", ["state_key"] = "", ["content"] = new JsonObject { ["join_rule"] = "knock" } }),
        });
        var privateRoom = await fixture.CreateRoomAsync(alice.Token, new JsonObject { ["preset"] = "private_chat" });
        (await fixture.JoinAsync(bob.Token, room)).Status.Should().Be(200);
        (await fixture.JoinAsync(dave.Token, room)).Status.Should().Be(200);
        var message = await fixture.SendMessageAsync(alice.Token, room, "hello");
        await fixture.SendMessageAsync(bob.Token, room, "hi");
        var toRedact = await fixture.SendMessageAsync(bob.Token, room, "oops");
        var alias = $"#conf{Guid.NewGuid():N}"[..16] + ":localhost";
        var login = await fixture.PostOkAsync($"{V3}/login", new JsonObject
        {
            ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = carol.UserId }, ["password"] = "correct horse battery",
        });
        var daveSecond = (await fixture.PostOkAsync($"{V3}/login", new JsonObject
        {
            ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = dave.UserId }, ["password"] = "correct horse battery",
        }))["access_token"]!.GetValue<string>();
        var carolSecondDevice = login["device_id"]!.GetValue<string>();
        var (_, devices) = await fixture.GetAsync($"{V3}/devices", alice.Token);
        var aliceDevice = devices["devices"]![0]!["device_id"]!.GetValue<string>();
        var (_, filter) = await fixture.PostAsync($"{V3}/user/{E(alice.UserId)}/filter", new JsonObject { ["room"] = new JsonObject { ["timeline"] = new JsonObject { ["limit"] = 5 } } }, alice.Token);
        var filterId = filter["filter_id"]!.GetValue<string>();
        var r = $"{V3}/rooms/{E(room)}";
        var unknownRoom = $"{V3}/rooms/{E("!nosuchroom:localhost")}";
        var empty = new JsonObject();
        var a = alice.Token;

        return
        [
            new("GET", "/_matrix/client/versions", "/_matrix/client/versions", 200),
            new("GET", "/.well-known/matrix/client", "/.well-known/matrix/client", 200, SpecPath: "/.well-known/matrix/client"),
            new("GET", $"{V3}/register/available", $"{V3}/register/available?username=fresh{Guid.NewGuid():N}", 200),
            new("GET", $"{V3}/register/available", $"{V3}/register/available?username={alice.UserId[1..alice.UserId.IndexOf(':')]}", 400),
            new("POST", $"{V3}/register", $"{V3}/register", 200, new JsonObject { ["username"] = $"new{Guid.NewGuid():N}"[..16], ["password"] = "pw pw pw pw", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" } }),
            new("POST", $"{V3}/register", $"{V3}/register?kind=guest", 200, new JsonObject { ["initial_device_display_name"] = "guest device" }),
            new("POST", $"{V3}/register", $"{V3}/register", 401, new JsonObject { ["username"] = $"uia{Guid.NewGuid():N}"[..16], ["password"] = "pw pw pw pw" }),
            new("POST", $"{V3}/register", $"{V3}/register", 400, new JsonObject { ["username"] = "Not Valid!", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" } }),
            new("GET", $"{V3}/login", $"{V3}/login", 200),
            new("POST", $"{V3}/login", $"{V3}/login", 200, new JsonObject { ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = dave.UserId }, ["password"] = "correct horse battery" }),
            new("POST", $"{V3}/login", $"{V3}/login", 403, new JsonObject { ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = dave.UserId }, ["password"] = "wrong" }),
            new("GET", $"{V3}/account/whoami", $"{V3}/account/whoami", 200, Token: a),
            new("GET", $"{V3}/account/whoami", $"{V3}/account/whoami", 401),
            new("GET", $"{V3}/capabilities", $"{V3}/capabilities", 200, Token: a),
            new("GET", $"{V3}/joined_rooms", $"{V3}/joined_rooms", 200, Token: a),
            new("POST", $"{V3}/createRoom", $"{V3}/createRoom", 200, new JsonObject { ["name"] = "x", ["topic"] = "y" }, a),
            new("POST", $"{V3}/createRoom", $"{V3}/createRoom", 400, new JsonObject { ["room_version"] = "no-such-version" }, a),
            new("POST", $"{V3}/rooms/{{roomId}}/invite", $"{r}/invite", 200, new JsonObject { ["user_id"] = carol.UserId }, a),
            new("POST", $"{V3}/rooms/{{roomId}}/invite", $"{V3}/rooms/{E(privateRoom)}/invite", 403, new JsonObject { ["user_id"] = carol.UserId }, outsider.Token),
            new("POST", $"{V3}/rooms/{{roomId}}/join", $"{r}/join", 200, empty, carol.Token),
            new("POST", $"{V3}/rooms/{{roomId}}/join", $"{V3}/rooms/{E(privateRoom)}/join", 403, empty, outsider.Token),
            new("POST", $"{V3}/join/{{roomIdOrAlias}}", $"{V3}/join/{E(room)}", 200, empty, outsider.Token),
            new("POST", $"{V3}/knock/{{roomIdOrAlias}}", $"{V3}/knock/{E(knockRoom)}", 200, new JsonObject { ["reason"] = "let me in" }, bob.Token),
            new("POST", $"{V3}/knock/{{roomIdOrAlias}}", $"{V3}/knock/{E(privateRoom)}", 403, empty, bob.Token),
            new("PUT", $"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey}}", $"{r}/state/m.room.name/", 200, new JsonObject { ["name"] = "Renamed" }, a),
            new("PUT", $"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey}}", $"{r}/state/m.room.power_levels/", 403, new JsonObject { ["users"] = new JsonObject() }, bob.Token),
            new("PUT", $"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey}}", $"{r}/state/m.room.canonical_alias/", 400, new JsonObject { ["alias"] = "#nowhere:localhost" }, a),
            new("PUT", $"{V3}/rooms/{{roomId}}/state/{{eventType}}", $"{r}/state/m.room.topic", 200, new JsonObject { ["topic"] = "t" }, a,
                $"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey}}"),
            new("PUT", $"{V3}/rooms/{{roomId}}/send/{{eventType}}/{{txnId}}", $"{r}/send/m.room.message/{Guid.NewGuid():N}", 200, new JsonObject { ["msgtype"] = "m.text", ["body"] = "b" }, a),
            new("PUT", $"{V3}/rooms/{{roomId}}/redact/{{eventId}}/{{txnId}}", $"{r}/redact/{E(toRedact)}/{Guid.NewGuid():N}", 200, new JsonObject { ["reason"] = "typo" }, bob.Token),
            new("PUT", $"{V3}/directory/room/{{roomAlias}}", $"{V3}/directory/room/{E(alias)}", 200, new JsonObject { ["room_id"] = room }, a),
            new("PUT", $"{V3}/directory/room/{{roomAlias}}", $"{V3}/directory/room/{E(alias)}", 409, new JsonObject { ["room_id"] = room }, a),
            new("GET", $"{V3}/directory/room/{{roomAlias}}", $"{V3}/directory/room/{E(alias)}", 200),
            new("GET", $"{V3}/directory/room/{{roomAlias}}", $"{V3}/directory/room/{E("#nosuchalias:localhost")}", 404),
            new("GET", $"{V3}/rooms/{{roomId}}/aliases", $"{r}/aliases", 200, Token: a),
            new("DELETE", $"{V3}/directory/room/{{roomAlias}}", $"{V3}/directory/room/{E(alias)}", 200, Token: a),
            new("PUT", $"{V3}/directory/list/room/{{roomId}}", $"{V3}/directory/list/room/{E(room)}", 200, new JsonObject { ["visibility"] = "public" }, a),
            new("PUT", $"{V3}/directory/list/room/{{roomId}}", $"{V3}/directory/list/room/{E("!nosuchroom:localhost")}", 404, new JsonObject { ["visibility"] = "public" }, a),
            new("GET", $"{V3}/directory/list/room/{{roomId}}", $"{V3}/directory/list/room/{E(room)}", 200),
            new("GET", $"{V3}/directory/list/room/{{roomId}}", $"{V3}/directory/list/room/{E("!nosuchroom:localhost")}", 404),
            new("GET", $"{V3}/publicRooms", $"{V3}/publicRooms?limit=2", 200),
            new("POST", $"{V3}/publicRooms", $"{V3}/publicRooms", 200, new JsonObject { ["limit"] = 5, ["filter"] = new JsonObject { ["generic_search_term"] = "Conformance" } }, a),
            new("GET", $"{V3}/rooms/{{roomId}}/joined_members", $"{r}/joined_members", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/joined_members", $"{V3}/rooms/{E(privateRoom)}/joined_members", 403, Token: bob.Token),
            new("GET", $"{V3}/rooms/{{roomId}}/messages", $"{r}/messages?dir=b&limit=5", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/messages", $"{r}/messages?dir=f&filter={E("""{"types":["m.room.message"],"lazy_load_members":true}""")}", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/messages", $"{r}/messages?dir=b&filter={E("{not json")}", 400, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/messages", $"{V3}/rooms/{E(privateRoom)}/messages?dir=b", 403, Token: bob.Token),
            new("GET", $"{V3}/rooms/{{roomId}}/event/{{eventId}}", $"{r}/event/{E(message)}", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/event/{{eventId}}", $"{r}/event/{E("$nosuchevent")}", 404, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/context/{{eventId}}", $"{r}/context/{E(message)}?limit=4", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/context/{{eventId}}", $"{r}/context/{E(message)}?filter={E("""{"lazy_load_members":true}""")}", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/context/{{eventId}}", $"{r}/context/{E("$nosuchevent")}", 404, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/state", $"{r}/state", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/state", $"{V3}/rooms/{E(privateRoom)}/state", 403, Token: bob.Token),
            new("GET", $"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey}}", $"{r}/state/m.room.member/{E(alice.UserId)}", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey}}", $"{r}/state/m.room.name/?format=event", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey}}", $"{r}/state/m.room.avatar/", 404, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/state/{{eventType}}", $"{r}/state/m.room.create", 200, Token: a, SpecPath: $"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey}}"),
            new("GET", $"{V3}/rooms/{{roomId}}/members", $"{r}/members", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/members", $"{r}/members?membership=join&not_membership=leave", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/members", $"{V3}/rooms/{E(privateRoom)}/members", 403, Token: bob.Token),
            new("GET", $"{V3}/rooms/{{roomId}}/initialSync", $"{r}/initialSync", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/initialSync", $"{V3}/rooms/{E(privateRoom)}/initialSync", 403, Token: bob.Token),
            new("GET", $"{V3}/events", $"{V3}/events?room_id={E(room)}&timeout=0", 200, Token: a),
            new("GET", $"{V3}/sync", $"{V3}/sync?timeout=0", 200, Token: a),
            new("GET", $"{V3}/sync", $"{V3}/sync?timeout=0&filter={E(filterId)}", 200, Token: a),
            new("POST", $"{V3}/user/{{userId}}/filter", $"{V3}/user/{E(alice.UserId)}/filter", 200, new JsonObject { ["presence"] = new JsonObject { ["limit"] = 1 } }, a),
            new("GET", $"{V3}/user/{{userId}}/filter/{{filterId}}", $"{V3}/user/{E(alice.UserId)}/filter/{E(filterId)}", 200, Token: a),
            new("GET", $"{V3}/user/{{userId}}/filter/{{filterId}}", $"{V3}/user/{E(alice.UserId)}/filter/999999", 404, Token: a),
            new("PUT", $"{V3}/user/{{userId}}/account_data/{{type}}", $"{V3}/user/{E(alice.UserId)}/account_data/org.example.conf", 200, new JsonObject { ["a"] = 1 }, a),
            new("GET", $"{V3}/user/{{userId}}/account_data/{{type}}", $"{V3}/user/{E(alice.UserId)}/account_data/org.example.conf", 200, Token: a),
            new("GET", $"{V3}/user/{{userId}}/account_data/{{type}}", $"{V3}/user/{E(alice.UserId)}/account_data/org.example.none", 404, Token: a),
            new("PUT", $"{V3}/user/{{userId}}/rooms/{{roomId}}/account_data/{{type}}", $"{V3}/user/{E(alice.UserId)}/rooms/{E(room)}/account_data/org.example.conf", 200, new JsonObject { ["a"] = 1 }, a),
            new("GET", $"{V3}/user/{{userId}}/rooms/{{roomId}}/account_data/{{type}}", $"{V3}/user/{E(alice.UserId)}/rooms/{E(room)}/account_data/org.example.conf", 200, Token: a),
            new("PUT", $"{V3}/rooms/{{roomId}}/typing/{{userId}}", $"{r}/typing/{E(alice.UserId)}", 200, new JsonObject { ["typing"] = true, ["timeout"] = 1000 }, a),
            new("POST", $"{V3}/rooms/{{roomId}}/receipt/{{receiptType}}/{{eventId}}", $"{r}/receipt/m.read/{E(message)}", 200, empty, a),
            new("POST", $"{V3}/rooms/{{roomId}}/read_markers", $"{r}/read_markers", 200, new JsonObject { ["m.fully_read"] = message }, a),
            new("GET", $"{V3}/pushrules/", $"{V3}/pushrules/", 200, Token: a),
            new("GET", $"{V3}/pushrules/global/", $"{V3}/pushrules/global/", 200, Token: a),
            new("GET", $"{V3}/pushrules/global/{{kind}}/{{ruleId}}", $"{V3}/pushrules/global/override/.m.rule.master", 200, Token: a),
            new("GET", $"{V3}/pushrules/global/{{kind}}/{{ruleId}}", $"{V3}/pushrules/global/override/no.such.rule", 404, Token: a),
            new("GET", $"{V3}/pushrules/global/{{kind}}/{{ruleId}}/enabled", $"{V3}/pushrules/global/override/.m.rule.master/enabled", 200, Token: a),
            new("GET", $"{V3}/pushrules/global/{{kind}}/{{ruleId}}/actions", $"{V3}/pushrules/global/override/.m.rule.master/actions", 200, Token: a),
            new("PUT", $"{V3}/pushrules/global/{{kind}}/{{ruleId}}/enabled", $"{V3}/pushrules/global/override/.m.rule.master/enabled", 200, new JsonObject { ["enabled"] = false }, a),
            new("PUT", $"{V3}/pushrules/global/{{kind}}/{{ruleId}}/actions", $"{V3}/pushrules/global/underride/.m.rule.message/actions", 200, new JsonObject { ["actions"] = new JsonArray("notify") }, a),
            new("PUT", $"{V3}/profile/{{userId}}/displayname", $"{V3}/profile/{E(alice.UserId)}/displayname", 200, new JsonObject { ["displayname"] = "Alice" }, a),
            new("PUT", $"{V3}/profile/{{userId}}/avatar_url", $"{V3}/profile/{E(alice.UserId)}/avatar_url", 200, new JsonObject { ["avatar_url"] = "mxc://localhost/abc" }, a),
            new("GET", $"{V3}/profile/{{userId}}", $"{V3}/profile/{E(alice.UserId)}", 200),
            new("GET", $"{V3}/profile/{{userId}}", $"{V3}/profile/{E("@nobody:localhost")}", 404),
            new("GET", $"{V3}/profile/{{userId}}/displayname", $"{V3}/profile/{E(alice.UserId)}/displayname", 200),
            new("GET", $"{V3}/profile/{{userId}}/avatar_url", $"{V3}/profile/{E(alice.UserId)}/avatar_url", 200),
            new("GET", $"{V3}/profile/{{userId}}/displayname", $"{V3}/profile/{E("@nobody:localhost")}/displayname", 404),
            new("DELETE", $"{V3}/profile/{{userId}}/avatar_url", $"{V3}/profile/{E(alice.UserId)}/avatar_url", 200, Token: a),
            new("DELETE", $"{V3}/profile/{{userId}}/displayname", $"{V3}/profile/{E(alice.UserId)}/displayname", 200, Token: a),
            new("GET", $"{V3}/rooms/{{roomId}}/joined_members", $"{r}/joined_members", 200, Token: a),
            new("GET", $"{V3}/devices", $"{V3}/devices", 200, Token: a),
            new("GET", $"{V3}/devices/{{deviceId}}", $"{V3}/devices/{E(aliceDevice)}", 200, Token: a),
            new("GET", $"{V3}/devices/{{deviceId}}", $"{V3}/devices/NOSUCHDEVICE", 404, Token: a),
            new("PUT", $"{V3}/devices/{{deviceId}}", $"{V3}/devices/{E(aliceDevice)}", 200, new JsonObject { ["display_name"] = "phone" }, a),
            new("DELETE", $"{V3}/devices/{{deviceId}}", $"{V3}/devices/{E(carolSecondDevice)}", 401, empty, carol.Token),
            new("DELETE", $"{V3}/devices/{{deviceId}}", $"{V3}/devices/{E(carolSecondDevice)}", 200, new JsonObject
            {
                ["auth"] = new JsonObject { ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = carol.UserId }, ["password"] = "correct horse battery" },
            }, carol.Token),
            new("POST", $"{V3}/user/{{userId}}/openid/request_token", $"{V3}/user/{E(alice.UserId)}/openid/request_token", 200, empty, a),
            new("POST", $"{V3}/account/3pid/bind", $"{V3}/account/3pid/bind", 400, empty, a),
            new("POST", $"{V3}/rooms/{{roomId}}/kick", $"{r}/kick", 403, new JsonObject { ["user_id"] = alice.UserId }, bob.Token),
            new("POST", $"{V3}/rooms/{{roomId}}/kick", $"{r}/kick", 200, new JsonObject { ["user_id"] = bob.UserId, ["reason"] = "r" }, a),
            new("POST", $"{V3}/rooms/{{roomId}}/ban", $"{r}/ban", 200, new JsonObject { ["user_id"] = bob.UserId }, a),
            new("POST", $"{V3}/rooms/{{roomId}}/unban", $"{r}/unban", 200, new JsonObject { ["user_id"] = bob.UserId }, a),
            new("POST", $"{V3}/rooms/{{roomId}}/leave", $"{r}/leave", 200, empty, dave.Token),
            new("POST", $"{V3}/rooms/{{roomId}}/forget", $"{r}/forget", 200, empty, dave.Token),
            new("POST", $"{V3}/rooms/{{roomId}}/leave", $"{unknownRoom}/leave", 404, empty, a),
            new("GET", $"{V3}/rooms/{{roomId}}/initialSync", $"{r}/initialSync", 403, Token: guest.Token),
            new("POST", $"{V3}/logout", $"{V3}/logout", 200, empty, daveSecond),
            new("POST", $"{V3}/logout/all", $"{V3}/logout/all", 200, empty, outsider.Token),
        ];
    }
}
