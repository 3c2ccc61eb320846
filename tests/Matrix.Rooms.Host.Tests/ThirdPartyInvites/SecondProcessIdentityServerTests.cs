using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.ThirdPartyInvites;

/// <summary>
/// Two real servers over loopback HTTP: the homeserver under test (an in-process Kestrel host, server name
/// <c>localhost</c>) and the standalone identity server as a second <em>process</em> (<c>src/IdentityServer</c>:
/// <c>dotnet Matrix.Rooms.IdentityServer.dll</c>, server name <c>identity.test</c>, its own database and mail drop).
/// The homeserver trusts it by its address; it knows the homeserver as <c>localhost</c>. Every call between them —
/// OpenID userinfo, hash_details, lookup, store-invite, 3pid/bind, 3pid/onbind, pubkey/isvalid — is real HTTP.
/// </summary>
public sealed class TwoServersFixture : IAsyncLifetime
{
    public int HomeserverPort { get; } = TcpProbe.ClosedPort();
    public int IdentityServerPort { get; } = TcpProbe.ClosedPort();
    public string IdentityServerName => $"127.0.0.1:{IdentityServerPort}";
    public string HomeserverDataDirectory { get; } = Path.Combine(Path.GetTempPath(), "matrix-rooms-hs-" + Guid.NewGuid().ToString("N")[..8]);
    public string IdentityDataDirectory { get; } = Path.Combine(Path.GetTempPath(), "matrix-rooms-is-" + Guid.NewGuid().ToString("N")[..8]);
    public HttpClient Homeserver { get; private set; } = null!;
    public HttpClient IdentityServer { get; private set; } = null!;

    private WebApplication? _homeserver;
    private Process? _identityProcess;
    private readonly StringBuilder _identityOutput = new();

    public async Task InitializeAsync()
    {
        // The identity server: the standalone process (src/IdentityServer), with its own database.
        var start = StandaloneIdentityServer.StartInfo();
        start.Environment["ASPNETCORE_URLS"] = $"http://{IdentityServerName}";
        start.Environment["ConnectionStrings__Identity"] = TestDatabase.NewDatabase("idsrv");
        start.Environment["IdentityServer__ServerName"] = "identity.test";
        start.Environment["IdentityServer__DataDirectory"] = IdentityDataDirectory;
        start.Environment["IdentityServer__Homeservers__0__ServerName"] = "localhost";
        start.Environment["IdentityServer__Homeservers__0__BaseUrl"] = $"http://127.0.0.1:{HomeserverPort}";
        _identityProcess = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        _identityProcess.OutputDataReceived += (_, e) => { lock (_identityOutput) _identityOutput.AppendLine(e.Data); };
        _identityProcess.ErrorDataReceived += (_, e) => { lock (_identityOutput) _identityOutput.AppendLine(e.Data); };
        _identityProcess.BeginOutputReadLine();
        _identityProcess.BeginErrorReadLine();

        // The homeserver under test: the same Host, in process, on Kestrel, trusting that identity server.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(Program).Assembly.GetName().Name, ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["urls"] = $"http://127.0.0.1:{HomeserverPort}",
            ["ConnectionStrings:Marten"] = TestDatabase.NewDatabase("homesrv"),
            ["MatrixRooms:PasswordHashIterations"] = "1000",
            ["MatrixRooms:DataDirectory"] = HomeserverDataDirectory,
            ["MatrixRooms:IdentityServer:Trusted:0:Name"] = IdentityServerName,
            ["MatrixRooms:IdentityServer:Trusted:0:BaseUrl"] = $"http://{IdentityServerName}",
            ["MatrixRooms:IdentityServer:Trusted:0:TimeoutSeconds"] = "30",
        });
        builder.AddMatrixRooms();
        builder.WebHost.UseUrls($"http://127.0.0.1:{HomeserverPort}");
        builder.Services.RunWolverineInSoloMode();
        _homeserver = builder.Build();
        _homeserver.UseMatrixRoomsApi();
        await _homeserver.StartAsync();

        Homeserver = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HomeserverPort}"), Timeout = TimeSpan.FromSeconds(90) };
        IdentityServer = new HttpClient { BaseAddress = new Uri($"http://{IdentityServerName}"), Timeout = TimeSpan.FromSeconds(90) };
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            if (_identityProcess.HasExited) throw new InvalidOperationException($"The identity server process exited:\n{Output}");
            try
            {
                if ((await IdentityServer.GetAsync("/_matrix/identity/v2")).IsSuccessStatusCode) break;
            }
            catch (HttpRequestException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The identity server process did not start:\n{Output}");
            await Task.Delay(250);
        }
    }

    public string Output
    {
        get
        {
            lock (_identityOutput) return _identityOutput.ToString();
        }
    }

    public async Task DisposeAsync()
    {
        Homeserver?.Dispose();
        IdentityServer?.Dispose();
        if (_identityProcess is { HasExited: false })
        {
            _identityProcess.Kill(entireProcessTree: true);
            await _identityProcess.WaitForExitAsync();
        }
        _identityProcess?.Dispose();
        if (_homeserver is not null)
        {
            await _homeserver.StopAsync();
            await _homeserver.DisposeAsync();
        }
        foreach (var dir in new[] { HomeserverDataDirectory, IdentityDataDirectory })
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
    }
}

/// <summary>How to start the standalone identity server: its build output is copied beside the tests (the Host references it).</summary>
public static class StandaloneIdentityServer
{
    public static ProcessStartInfo StartInfo() => new("dotnet")
    {
        ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Matrix.Rooms.IdentityServer.dll") },
        WorkingDirectory = TestDatabase.RepositoryRoot,
        RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
    };
}

public sealed class SecondProcessIdentityServerTests(TwoServersFixture servers) : IClassFixture<TwoServersFixture>
{
    [Fact]
    public async Task Invite_bind_and_join_with_the_identity_server_in_another_process()
    {
        var (alice, aliceToken) = await RegisterAsync();
        var (bob, bobToken) = await RegisterAsync();
        var aliceIs = await IdentityTokenAsync(alice, aliceToken);
        var bobIs = await IdentityTokenAsync(bob, bobToken);
        (await SendAsync(servers.IdentityServer, HttpMethod.Get, "/_matrix/identity/v2/account", null, bobIs)).Body["user_id"]!.GetValue<string>()
            .Should().Be(bob, "the identity server checked Bob's OpenID token with the homeserver over HTTP");

        // Alice invites the address through the external identity server.
        var room = (await PostOkAsync(servers.Homeserver, "/_matrix/client/v3/createRoom", new JsonObject { ["preset"] = "private_chat" }, aliceToken))
            ["room_id"]!.GetValue<string>();
        var address = ThirdPartyInviteFixture.NewAddress();
        await PostOkAsync(servers.Homeserver, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/invite",
            ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceIs, servers.IdentityServerName), aliceToken);
        var (_, state) = await SendAsync(servers.Homeserver, HttpMethod.Get, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/state", null, aliceToken);
        var invite = state["chunk"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "m.room.third_party_invite")!;
        invite["content"]!["key_validity_url"]!.GetValue<string>().Should().StartWith($"http://{servers.IdentityServerName}/_matrix/identity/v2/pubkey/isvalid");
        invite.ToJsonString().Should().NotContain(address);

        // Bob validates the address on the identity server (token from its mail drop) and binds it through his homeserver.
        var secret = "bob-secret-" + Guid.NewGuid().ToString("N")[..8];
        var sid = (await PostOkAsync(servers.IdentityServer, "/_matrix/identity/v2/validate/email/requestToken",
            new JsonObject { ["client_secret"] = secret, ["email"] = address, ["send_attempt"] = 1 }, bobIs))["sid"]!.GetValue<string>();
        var mailToken = await ThirdPartyInviteFixture.MailTokenAsync(Path.Combine(servers.IdentityDataDirectory, "maildrop"), sid);
        // The link in the mail, as a browser opens it: sid, client_secret and token in the query string.
        using (var link = await servers.IdentityServer.GetAsync(
                   $"/_matrix/identity/v2/validate/email/submitToken?sid={sid}&client_secret={secret}&token={mailToken}"))
            ((int)link.StatusCode).Should().Be(200, servers.Output);
        await PostOkAsync(servers.Homeserver, "/_matrix/client/v3/account/3pid/bind", new JsonObject
        {
            ["sid"] = sid, ["client_secret"] = secret, ["id_server"] = servers.IdentityServerName, ["id_access_token"] = bobIs,
        }, bobToken);

        // The identity server called /3pid/onbind (from its outbox, after the bind committed); the homeserver checked the
        // key with pubkey/isvalid and exchanged the invite. Bounded wait: 60 s.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        int status;
        JsonObject member;
        while (true)
        {
            (status, member) = await SendAsync(servers.Homeserver, HttpMethod.Get,
                $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/state/m.room.member/{Uri.EscapeDataString(bob)}", null, aliceToken);
            if (status == 200 || DateTime.UtcNow > deadline) break;
            await Task.Delay(50);
        }
        status.Should().Be(200, servers.Output);
        member["membership"]!.GetValue<string>().Should().Be("invite");
        member["third_party_invite"]!["signed"]!["signatures"]!["identity.test"]!["ed25519:0"].Should().NotBeNull();

        await PostOkAsync(servers.Homeserver, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/join", new JsonObject(), bobToken);
        foreach (var (name, value) in new[] { ("client_secret", secret), ("validation token", mailToken), ("identity-server token", bobIs) })
            servers.Output.Should().NotContain(value, $"the identity server's log must not hold the {name}");
        var (_, joined) = await SendAsync(servers.Homeserver, HttpMethod.Get, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/joined_members", null, aliceToken);
        joined["joined"]!.AsObject().Select(kv => kv.Key).Should().BeEquivalentTo(alice, bob);

        // The external server is looked up by hash now: a second invite of the address is an ordinary invite of Bob.
        var room2 = (await PostOkAsync(servers.Homeserver, "/_matrix/client/v3/createRoom", new JsonObject(), aliceToken))["room_id"]!.GetValue<string>();
        await PostOkAsync(servers.Homeserver, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room2)}/invite",
            ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceIs, servers.IdentityServerName), aliceToken);
        (await SendAsync(servers.Homeserver, HttpMethod.Get,
            $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room2)}/state/m.room.member/{Uri.EscapeDataString(bob)}", null, aliceToken))
            .Body["membership"]!.GetValue<string>().Should().Be("invite");
    }

    [Fact]
    public async Task The_external_identity_servers_errors_are_passed_on()
    {
        var (bob, bobToken) = await RegisterAsync();
        var bobIs = await IdentityTokenAsync(bob, bobToken);
        var (status, body) = await SendAsync(servers.Homeserver, HttpMethod.Post, "/_matrix/client/v3/account/3pid/bind", new JsonObject
        {
            ["sid"] = "no-such-session", ["client_secret"] = "x", ["id_server"] = servers.IdentityServerName, ["id_access_token"] = bobIs,
        }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((404, "M_NO_VALID_SESSION"));

        // A homeserver token is not an identity-server token for a server other than the embedded one.
        (status, body) = await SendAsync(servers.Homeserver, HttpMethod.Post, "/_matrix/client/v3/account/3pid/bind", new JsonObject
        {
            ["sid"] = "x", ["client_secret"] = "x", ["id_server"] = servers.IdentityServerName, ["id_access_token"] = bobToken,
        }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
    }

    [Fact]
    public async Task The_standalone_server_answers_bad_requests_as_the_embedded_one_does()
    {
        var (bob, bobToken) = await RegisterAsync();
        var standaloneToken = await IdentityTokenAsync(bob, bobToken);
        // The homeserver under test embeds an identity server too (the default): the same API on the same port.
        var embeddedToken = await IdentityTokenAsync(bob, bobToken, servers.Homeserver);
        var huge = "{\"a\":\"" + new string('x', 1024 * 1024) + "\"}";
        var cases = new (string Method, string Url, string? Body, bool WithToken)[]
        {
            ("GET", "/_matrix/identity/v2/hash_details", null, false),
            ("POST", "/_matrix/identity/v2/lookup", "{", true),
            ("POST", "/_matrix/identity/v2/lookup", "[]", true),
            ("POST", "/_matrix/identity/v2/lookup", "{\"algorithm\": 1}", true),
            ("POST", "/_matrix/identity/v2/lookup", "{\"a\": 1, \"a\": 2}", true),
            ("POST", "/_matrix/identity/v2/lookup", huge, true),
            ("POST", "/_matrix/identity/v2/lookup", "{\"algorithm\": \"sha256\", \"pepper\": \"stale\", \"addresses\": []}", true),
            ("POST", "/_matrix/identity/v2/validate/email/requestToken",
                "{\"client_secret\": \"s3cret\", \"email\": \"a@example.org\", \"send_attempt\": 1, \"next_link\": \"https://evil.example/\"}", true),
            ("POST", "/_matrix/identity/v2/store-invite",
                "{\"medium\": \"msisdn\", \"address\": \"1\", \"room_id\": \"!r:localhost\", \"sender\": \"@a:localhost\"}", true),
            ("POST", "/_matrix/identity/v2/3pid/bind", "{\"sid\": \"nope\", \"client_secret\": \"x\", \"mxid\": \"@a:localhost\"}", true),
            ("GET", "/_matrix/identity/v2/pubkey/isvalid", null, false),
            ("GET", "/_matrix/identity/v2/pubkey/ed25519:nope", null, false),
            ("GET", "/_matrix/identity/v2/validate/email/submitToken?sid=x&client_secret=%00&token=t", null, false),
            ("GET", "/_matrix/identity/v2/no-such-endpoint", null, false),
            ("POST", "/_matrix/identity/v2/account/register", "{\"access_token\": \"forged\", \"matrix_server_name\": \"localhost\"}", false),
            ("POST", "/_matrix/identity/v2/account/register", "{\"access_token\": \"x\", \"matrix_server_name\": \"elsewhere.example\"}", false),
        };
        foreach (var (method, url, body, withToken) in cases)
        {
            var embedded = await SendRawAsync(servers.Homeserver, method, url, body, withToken ? embeddedToken : null);
            var standalone = await SendRawAsync(servers.IdentityServer, method, url, body, withToken ? standaloneToken : null);
            standalone.Should().Be(embedded, $"{method} {url} with {body?.Length ?? 0} bytes");
            embedded.Status.Should().BeInRange(400, 499, $"{method} {url} is a client error");
        }
    }

    [Fact]
    public async Task Without_a_connection_string_the_standalone_server_says_so_and_exits_with_2()
    {
        var start = StandaloneIdentityServer.StartInfo();
        start.Environment.Remove("ConnectionStrings__Identity");
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{TcpProbe.ClosedPort()}";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(bound.Token);
        process.ExitCode.Should().Be(2);
        (await stderr).Should().Contain("ConnectionStrings:Identity");
    }

    private async Task<(string UserId, string Token)> RegisterAsync()
    {
        var json = await PostOkAsync(servers.Homeserver, "/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = "u" + Guid.NewGuid().ToString("N")[..10], ["password"] = "correct horse battery",
            ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        return (json["user_id"]!.GetValue<string>(), json["access_token"]!.GetValue<string>());
    }

    /// <summary>The spec's way to an identity-server token: OpenID from the homeserver, <c>/account/register</c> on the identity server.</summary>
    private async Task<string> IdentityTokenAsync(string userId, string token, HttpClient? identityServer = null)
    {
        var openId = await PostOkAsync(servers.Homeserver, $"/_matrix/client/v3/user/{Uri.EscapeDataString(userId)}/openid/request_token", new JsonObject(), token);
        return (await PostOkAsync(identityServer ?? servers.IdentityServer, "/_matrix/identity/v2/account/register", openId))["token"]!.GetValue<string>();
    }

    /// <summary>Status and <c>errcode</c> of a request sent as given (the body need not be JSON).</summary>
    private static async Task<(int Status, string? ErrCode)> SendRawAsync(HttpClient client, string method, string url, string? body, string? token)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var errcode = text.StartsWith('{') ? (JsonNode.Parse(text) as JsonObject)?["errcode"]?.GetValue<string>() : text;
        return ((int)response.StatusCode, errcode);
    }

    private async Task<JsonObject> PostOkAsync(HttpClient client, string url, JsonObject body, string? token = null)
    {
        var (status, json) = await SendAsync(client, HttpMethod.Post, url, body, token);
        status.Should().Be(200, $"POST {url} answered {json.ToJsonString()}\n{servers.Output}");
        return json;
    }

    private static async Task<(int Status, JsonObject Body)> SendAsync(HttpClient client, HttpMethod method, string url, JsonObject? body, string? token)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        // GET /state answers an array: it comes back as {"chunk": [...]}.
        var json = string.IsNullOrEmpty(text) ? null : JsonNode.Parse(text);
        return ((int)response.StatusCode, json switch
        {
            JsonObject o => o,
            JsonArray a => new JsonObject { ["chunk"] = a },
            _ => new JsonObject(),
        });
    }
}
