using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Reliability;
using Matrix.Rooms.Host.Tests.Support;
using Xunit.Abstractions;

namespace Matrix.Rooms.Host.Tests.Hardening;

/// <summary>
/// Issue 9, suite 1: generated hostile requests across every endpoint — malformed, truncated, deep and duplicate-key
/// JSON, wrong types, huge bodies, bad identifiers, odd Unicode, path tricks, bad pagination, wrong methods, bad tokens.
/// Each must get no 5xx, every error must be Matrix JSON, a refused request must store nothing, and every room must stay
/// readable afterwards. Bounded in CI; <c>MATRIX_ROOMS_LONG=1</c> runs ≥ 10,000 requests (see docs/reliability.md).
/// </summary>
[Collection(HostCollection.Name)]
[Trait("Category", ReliabilityScale.Category)]
public sealed class HostileInputSuite(HostFixture host, ITestOutputHelper output)
{
    private sealed record Endpoint(string Method, string Path, JsonObject Sample);

    private static readonly Endpoint[] Endpoints =
    [
        new("PUT", "/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}", new JsonObject { ["msgtype"] = "m.text", ["body"] = "hello" }),
        new("PUT", "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}", new JsonObject { ["topic"] = "tea" }),
        new("PUT", "/_matrix/client/v3/rooms/{roomId}/state/{eventType}", new JsonObject { ["name"] = "Tea" }),
        new("POST", "/_matrix/client/v3/rooms/{roomId}/invite", new JsonObject { ["user_id"] = "@someone:localhost" }),
        new("POST", "/_matrix/client/v3/rooms/{roomId}/invite", new JsonObject { ["id_server"] = "localhost", ["medium"] = "email", ["address"] = "a@example.org" }),
        new("POST", "/_matrix/client/api/v1/rooms/{roomId}/invite", new JsonObject { ["user_id"] = "@someone:localhost" }),
        new("POST", "/_matrix/client/v3/rooms/{roomId}/join", new JsonObject()),
        new("POST", "/_matrix/client/v3/join/{roomId}", new JsonObject()),
        new("POST", "/_matrix/client/v3/knock/{roomId}", new JsonObject { ["reason"] = "let me in" }),
        new("POST", "/_matrix/client/v3/rooms/{roomId}/leave", new JsonObject()),
        new("POST", "/_matrix/client/v3/rooms/{roomId}/kick", new JsonObject { ["user_id"] = "@someone:localhost", ["reason"] = "x" }),
        new("POST", "/_matrix/client/v3/rooms/{roomId}/ban", new JsonObject { ["user_id"] = "@someone:localhost" }),
        new("POST", "/_matrix/client/v3/rooms/{roomId}/unban", new JsonObject { ["user_id"] = "@someone:localhost" }),
        new("POST", "/_matrix/client/v3/rooms/{roomId}/third_party_invites/{token}/revoke", new JsonObject()),
        new("GET", "/_matrix/client/v3/rooms/{roomId}/messages?dir={dir}&from={from}&limit={limit}", new JsonObject()),
        new("GET", "/_matrix/client/v3/rooms/{roomId}/state", new JsonObject()),
        new("GET", "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}", new JsonObject()),
        new("GET", "/_matrix/client/v3/rooms/{roomId}/members?at={from}&membership={membership}", new JsonObject()),
        new("GET", "/_matrix/client/v3/rooms/{roomId}/joined_members", new JsonObject()),
        new("GET", "/_matrix/client/v3/rooms/{roomId}/event/{eventId}", new JsonObject()),
        new("GET", "/_matrix/client/v3/rooms/{roomId}/context/{eventId}?limit={limit}", new JsonObject()),
        new("GET", "/_matrix/client/v3/rooms/{roomId}/initialSync", new JsonObject()),
        new("GET", "/_matrix/client/v3/events?room_id={roomId}&from={from}&timeout={limit}", new JsonObject()),
        new("GET", "/_matrix/client/v3/rooms/{roomId}/third_party_invites", new JsonObject()),
        new("POST", "/_matrix/client/v3/createRoom", new JsonObject { ["name"] = "x", ["preset"] = "private_chat", ["invite"] = new JsonArray("@a:localhost") }),
        new("POST", "/_matrix/client/v3/register", new JsonObject { ["username"] = "u", ["password"] = "p", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" } }),
        new("POST", "/_matrix/client/v3/register?kind={kind}", new JsonObject()),
        new("GET", "/_matrix/client/v3/register/available?username={userId}", new JsonObject()),
        new("POST", "/_matrix/client/v3/login", new JsonObject { ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = "u" }, ["password"] = "p" }),
        new("GET", "/_matrix/client/v3/account/whoami", new JsonObject()),
        new("POST", "/_matrix/client/v3/user/{userId}/openid/request_token", new JsonObject()),
        new("GET", "/_matrix/client/versions", new JsonObject()),
        new("POST", "/_matrix/identity/v2/lookup", new JsonObject { ["algorithm"] = "sha256", ["pepper"] = "p", ["addresses"] = new JsonArray("x") }),
        new("POST", "/_matrix/identity/v2/store-invite", new JsonObject { ["medium"] = "email", ["address"] = "a@example.org", ["room_id"] = "!r:localhost", ["sender"] = "@a:localhost" }),
        new("POST", "/_matrix/identity/v2/validate/email/requestToken", new JsonObject { ["client_secret"] = "s3cret", ["email"] = "a@example.org", ["send_attempt"] = 1 }),
        new("POST", "/_matrix/identity/v2/validate/email/submitToken", new JsonObject { ["sid"] = "1", ["client_secret"] = "s3cret", ["token"] = "t" }),
        new("GET", "/_matrix/identity/v2/validate/email/submitToken?sid={token}&client_secret={token}&token={token}", new JsonObject()),
        new("POST", "/_matrix/identity/v2/3pid/bind", new JsonObject { ["sid"] = "1", ["client_secret"] = "s", ["mxid"] = "@a:localhost" }),
        new("GET", "/_matrix/identity/v2/pubkey/{keyId}", new JsonObject()),
        new("GET", "/_matrix/identity/v2/pubkey/isvalid?public_key={token}", new JsonObject()),
        new("GET", "/_matrix/identity/v2/hash_details", new JsonObject()),
        new("POST", "/_matrix/identity/v2/account/register", new JsonObject { ["access_token"] = "x", ["token_type"] = "Bearer", ["matrix_server_name"] = "localhost", ["expires_in"] = 3600 }),
        new("GET", "/_matrix/federation/v1/openid/userinfo?access_token={token}", new JsonObject()),
        new("GET", "/_matrix/rooms-admin/v1/rooms/{roomId}/state?at={from}&at_version={limit}", new JsonObject()),
    ];

    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

    /// <summary>Text a client could put anywhere: bad identifiers, odd Unicode, path tricks.</summary>
    private static readonly string[] OddTexts =
    [
        "", " ", "x", "!", "!a", "!a:", "!:localhost", "@", "@:localhost", "$", "not-a-room", "..", "../..", "%2e%2e%2f",
        "!room:bad host", "!room:local\u202Ehost", "@\u200Bzero:localhost", "\u202E", "😀", "\ud83d\ude00x", "é" + new string('e', 300),
        new string('a', 300), "m.room.member", "m.room.create", "m.room.power_levels", "m.room.third_party_invite", "m.room.guest_access",
        "%ED%A0%80", "%FF", "\\u0000", "null", "[]", "{}", "1e999", "-1", "9999999999999999999999", "<script>", "' or 1=1 --",
    ];

    private static readonly string[] OddQueryValues =
    [
        "", "garbage", "-1", "0", "1", "99999999999999999999", "9999999999999999", "s1_2_3", "t0-0", "%ED%A0%80", "%00", "%FF", "b", "f", "x",
        "{", "%7B%22limit%22%3A1%7D", "1e3", "2026-01-01T00:00:00Z", "99999-01-01T00:00:00Z", "join", "guest", "user", "😀",
    ];

    [Fact]
    public async Task Generated_hostile_requests_get_matrix_4xx_store_nothing_and_leave_every_room_readable()
    {
        var requests = ReliabilityScale.Pick(600, 12_000);
        var random = new Random(ReliabilityScale.Seed);
        var (alice, aliceToken) = await host.RegisterAsync();
        var (_, bobToken) = await host.RegisterAsync();
        var (_, guestToken) = await host.RegisterGuestAsync();
        var (_, goneToken) = await host.RegisterAsync();
        (await host.PostAsync("/_matrix/client/v3/logout", new JsonObject(), goneToken)).Status.Should().Be(200);

        var rooms = new List<string>
        {
            await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat", ["name"] = "Open" }),
            await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "private_chat" }),
        };
        await host.SetStateAsync(aliceToken, rooms[0], "m.room.history_visibility", new JsonObject { ["history_visibility"] = "world_readable" });
        // A member nobody else's requests can name, so the rooms can be read back whatever the generated requests did.
        var (reader, readerToken) = await host.RegisterAsync();
        foreach (var room in rooms)
        {
            await host.PostOkAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/invite", new JsonObject { ["user_id"] = reader }, aliceToken);
            (await host.JoinAsync(readerToken, room)).Status.Should().Be(200);
        }
        var eventIds = new List<string> { await host.SendMessageAsync(aliceToken, rooms[0], "first"), await host.SendMessageAsync(aliceToken, rooms[1], "first") };
        // Mostly real callers, so most requests reach the body and the rules; the rest try bad and logged-out tokens.
        string?[] tokens = [aliceToken, aliceToken, aliceToken, aliceToken, aliceToken, aliceToken, bobToken, bobToken, guestToken, guestToken,
            goneToken, "garbage", "", "syt_" + new string('x', 2000), null];

        var tally = new Dictionary<int, int>();
        var failures = new List<string>();
        for (var i = 0; i < requests && failures.Count < 20; i++)
        {
            var endpoint = Endpoints[random.Next(Endpoints.Length)];
            var method = random.Next(12) == 0 ? Methods[random.Next(Methods.Length)] : endpoint.Method;
            var url = FillPath(endpoint.Path, random, rooms, eventIds, alice);
            var body = method is "GET" or "DELETE" && random.Next(4) != 0 ? null : Mutate(endpoint.Sample, random);
            var token = tokens[random.Next(tokens.Length)];

            var before = await VersionsAsync(rooms);
            var (status, text, json) = await host.SendRawAsync(method, url, body, token);
            tally[status] = tally.GetValueOrDefault(status) + 1;
            var shown = $"#{i} {method} {url} body={Show(body)} → {status} {Truncate(text)}";
            if (status >= 500) failures.Add($"5xx: {shown}");
            // GET submitToken is the page a mail's link opens in a browser: its answer is text (spec: "4xx: Validation failed").
            else if (status >= 400 && !(json?["errcode"] is JsonValue code && code.ToString().StartsWith("M_")) && !(method == "GET" && url.Contains("/submitToken"))
                     // User-interactive auth's first answer is 401 with the flows and no errcode (spec "User-Interactive Authentication API").
                     && !(status == 401 && json?["flows"] is JsonArray))
                failures.Add($"not Matrix error JSON: {shown}");
            else if (status >= 400 && !(await VersionsAsync(rooms)).SequenceEqual(before))
                failures.Add($"stored something although refused: {shown}");
            if (status == 200 && json?["event_id"] is JsonValue sent) eventIds.Add(sent.ToString());
        }

        foreach (var room in rooms) await host.AssertReadableAsync(room, readerToken);
        var summary = $"hostile-input: {requests} requests, seed {ReliabilityScale.Seed}, {rooms.Count} rooms read back; statuses " +
                      string.Join(", ", tally.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}×{kv.Value}")) +
                      $"; 5xx {tally.Where(kv => kv.Key >= 500).Sum(kv => kv.Value)}; failures {failures.Count}";
        output.WriteLine(summary);
        ReliabilityScale.Report("hostile-input", summary);
        failures.Should().BeEmpty(string.Join("\n", failures));
    }

    private async Task<long[]> VersionsAsync(IEnumerable<string> rooms)
    {
        var versions = new List<long>();
        foreach (var room in rooms) versions.Add(await host.StreamVersionAsync(room));
        return versions.ToArray();
    }

    private static string FillPath(string template, Random random, IReadOnlyList<string> rooms, IReadOnlyList<string> eventIds, string user)
    {
        string Pick(params string[] good) => random.Next(3) == 0 ? Escape(OddTexts[random.Next(OddTexts.Length)]) : Escape(good[random.Next(good.Length)]);
        string Query() => OddQueryValues[random.Next(OddQueryValues.Length)];
        var url = template
            .Replace("{roomId}", Pick([.. rooms]))
            .Replace("{eventType}", Pick("m.room.message", "m.room.topic", "m.room.name", "org.example.custom", "m.room.member", "m.room.power_levels"))
            .Replace("{stateKey}", Pick("", user, "k"))
            .Replace("{txnId}", Pick("t1", "t2", Guid.NewGuid().ToString("N")))
            .Replace("{eventId}", Pick([.. eventIds]))
            .Replace("{userId}", Pick(user, "@nobody:localhost"))
            .Replace("{token}", Pick("abc", "tok"))
            .Replace("{keyId}", Pick("ed25519:0", "ed25519:x"))
            .Replace("{dir}", Query()).Replace("{from}", Query()).Replace("{limit}", Query())
            .Replace("{membership}", Query()).Replace("{kind}", Query());
        return url;
    }

    /// <summary>
    /// Escapes what must be escaped to be a URL, but lets some pre-escaped tricks (%ED%A0%80, %2e%2e%2f) through as they are.
    /// </summary>
    private static string Escape(string text) => text.StartsWith('%') ? text : Uri.EscapeDataString(text);

    /// <summary>The sample body, or one of many ways of breaking it.</summary>
    private static byte[] Mutate(JsonObject sample, Random random)
    {
        var valid = sample.ToJsonString();
        switch (random.Next(16))
        {
            case 0: return Encoding.UTF8.GetBytes(valid);
            case 1: return Encoding.UTF8.GetBytes(valid[..random.Next(valid.Length)]); // truncated
            case 2:
                var depth = random.Next(55, 300);
                return Encoding.UTF8.GetBytes(valid.Insert(1, $"\"deep\":{new string('[', depth)}1{new string(']', depth)},"));
            case 3:
                var first = sample.FirstOrDefault();
                return first.Key is null
                    ? "{\"a\":1,\"a\":2}"u8.ToArray()
                    : Encoding.UTF8.GetBytes(valid.Insert(1, $"\"{first.Key}\":{first.Value?.ToJsonString() ?? "null"},"));
            case 4: return Encoding.UTF8.GetBytes(ReplaceValues(sample, random, WrongTypes).ToJsonString());
            case 5: return Encoding.UTF8.GetBytes(ReplaceValues(sample, random, [JsonValue.Create(new string('x', random.Next(2) == 0 ? 70_000 : 300))]).ToJsonString());
            case 6: return Encoding.UTF8.GetBytes(new JsonObject { ["body"] = new string('x', 1024 * 1024 + 10) }.ToJsonString());
            case 7: return Encoding.UTF8.GetBytes(InjectRaw(valid, random, "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\u0000\"", "\"a\\u0000b\""));
            case 8: return Encoding.UTF8.GetBytes(InjectRaw(valid, random, "1e999", "1e-400", "1.5", "-0.0", "9007199254740992", "1.00000000000000000000000000001", "123456789012345678901234567890"));
            case 9:
                byte[] bad = [0xED, 0xA0, 0x80];
                byte[] other = [0xFF, 0xFE];
                var bytes = Encoding.UTF8.GetBytes(valid).ToList();
                var quote = valid.IndexOf(":\"", StringComparison.Ordinal);
                bytes.InsertRange(quote < 0 ? 1 : quote + 2, random.Next(2) == 0 ? bad : other);
                return bytes.ToArray();
            case 10: return Encoding.UTF8.GetBytes((string[])["[]", "\"str\"", "42", "null", "true", " ", "[{}]", "{}{}", "{\"a\"}", "{,}"] is var tops ? tops[random.Next(tops.Length)] : "");
            case 11:
                var noise = new byte[random.Next(1, 200)];
                random.NextBytes(noise);
                return noise;
            case 12: return Encoding.UTF8.GetBytes(ReplaceValues(sample, random, OddTexts.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()).ToJsonString());
            case 13: return Encoding.UTF8.GetBytes(valid.Insert(1, "\"content\":{\"membership\":\"join\"},\"state_key\":\"\",\"type\":\"m.room.create\","));
            case 14: return [];
            default: return Encoding.UTF8.GetBytes(InjectRaw(valid, random, "{\"k\":\"\u202E\"}", "[\"😀\",\"\\ud83d\\ude00\"]", "\"\\/\\b\\f\"", "{\"\":\"\"}"));
        }
    }

    private static readonly JsonNode?[] WrongTypes =
        [JsonValue.Create(1), JsonValue.Create(-1), JsonValue.Create(true), null, new JsonArray(), new JsonObject(), JsonValue.Create(""), new JsonArray(1, "a")];

    private static JsonObject ReplaceValues(JsonObject sample, Random random, JsonNode?[] values)
    {
        var copy = (JsonObject)sample.DeepClone();
        if (copy.Count == 0) copy["extra"] = null;
        var keys = copy.Select(kv => kv.Key).ToList();
        var key = keys[random.Next(keys.Count)];
        copy[key] = values[random.Next(values.Length)]?.DeepClone();
        return copy;
    }

    private static string InjectRaw(string valid, Random random, params string[] raws)
    {
        var raw = raws[random.Next(raws.Length)];
        return valid == "{}" ? $"{{\"x\":{raw}}}" : valid.Insert(1, $"\"x{random.Next(3)}\":{raw},");
    }

    private static string Show(byte[]? body) => body is null ? "-" : Truncate(Encoding.UTF8.GetString(body));
    private static string Truncate(string text) => text.Length > 160 ? text[..160] + "…" : text;
}
