using System.Text.Json.Nodes;
using Alba;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Features.ThirdPartyInvites;
using Matrix.Rooms.Host.Tests.Outbox;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.IdentityServer;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.ThirdPartyInvites;

/// <summary>
/// One Host (Alba, in-memory HTTP) on its own database and its own data directory (so its identity key and mail drop
/// are its own), with the embedded identity server, a small invite rate limit, and three trusted identity servers that
/// fail in the three ways the homeserver must survive: nothing listening, never answering, answering 500.
/// </summary>
public class ThirdPartyInviteFixture : IAsyncLifetime
{
    public const int InviteBurst = 6;

    public IAlbaHost Host { get; private set; } = null!;
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "matrix-rooms-3pid-" + Guid.NewGuid().ToString("N")[..8]);
    public string MailDrop => Path.Combine(DataDirectory, "maildrop");

    public TcpProbe SilentServer { get; } = new(TcpProbe.Behaviour.Silent);
    public TcpProbe FailingServer { get; } = new(TcpProbe.Behaviour.Http500);

    /// <summary>Never trusted: connections to it prove a request was made that must not have been.</summary>
    public TcpProbe UntrustedProbe { get; } = new(TcpProbe.Behaviour.Http500);

    public async Task InitializeAsync()
    {
        var connectionString = TestDatabase.NewDatabase("tpi");
        var closedPort = TcpProbe.ClosedPort();
        Host = await AlbaHost.For<Program>(builder =>
        {
            builder.UseSetting("ConnectionStrings:Marten", connectionString);
            builder.UseSetting("MatrixRooms:PasswordHashIterations", "1000");
            builder.UseSetting("MatrixRooms:DataDirectory", DataDirectory);
            builder.UseSetting("MatrixRooms:IdentityServer:InviteRateLimit:Burst", InviteBurst.ToString());
            builder.UseSetting("MatrixRooms:IdentityServer:InviteRateLimit:PerSecond", "0.001");
            builder.UseSetting("MatrixRooms:IdentityServer:Trusted:0:Name", "unreachable.test");
            builder.UseSetting("MatrixRooms:IdentityServer:Trusted:0:BaseUrl", $"http://127.0.0.1:{closedPort}");
            builder.UseSetting("MatrixRooms:IdentityServer:Trusted:1:Name", "slow.test");
            builder.UseSetting("MatrixRooms:IdentityServer:Trusted:1:BaseUrl", $"http://{SilentServer.Authority}");
            builder.UseSetting("MatrixRooms:IdentityServer:Trusted:1:TimeoutSeconds", "1");
            builder.UseSetting("MatrixRooms:IdentityServer:Trusted:2:Name", "broken.test");
            builder.UseSetting("MatrixRooms:IdentityServer:Trusted:2:BaseUrl", $"http://{FailingServer.Authority}");
            Configure(builder);
            builder.ConfigureServices(services =>
            {
                services.RunWolverineInSoloMode();
                // The embedded identity server reaches the homeserver through this port: a test can make it fail.
                services.AddSingleton<IEmbeddingHomeserver>(sp => new FailingFirstHomeserver(ActivatorUtilities.CreateInstance<EmbeddingHomeserver>(sp)));
            });
        });
    }

    /// <summary>More settings for a fixture of its own (e.g. the sharded one: ShardedThirdPartyInviteTests).</summary>
    protected virtual void Configure(IWebHostBuilder builder) { }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await SilentServer.DisposeAsync();
        await FailingServer.DisposeAsync();
        await UntrustedProbe.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The homeserver as the embedded identity server calls it (<see cref="FailingFirstHomeserver.FailNext"/>).</summary>
    public FailingFirstHomeserver EmbeddingHomeserver => (FailingFirstHomeserver)Host.Services.GetRequiredService<IEmbeddingHomeserver>();

    public IMessageBus Bus => Host.Services.CreateScope().ServiceProvider.GetRequiredService<IMessageBus>();

    public async Task<(int Status, JsonObject Body)> SendAsync(HttpMethod method, string url, string? body = null, string? token = null)
    {
        var result = await Host.Scenario(s =>
        {
            if (method == HttpMethod.Get) s.Get.Url(url);
            else if (method == HttpMethod.Put) s.Put.Text(body ?? "").ToUrl(url);
            else s.Post.Text(body ?? "").ToUrl(url);
            if (token is not null) s.WithBearerToken(token);
            s.IgnoreStatusCode();
        });
        var text = await result.ReadAsTextAsync();
        JsonObject json;
        try
        {
            json = string.IsNullOrEmpty(text) ? new JsonObject() : JsonNode.Parse(text) as JsonObject ?? new JsonObject();
        }
        catch (System.Text.Json.JsonException)
        {
            json = new JsonObject { ["text"] = text };
        }
        return (result.Context.Response.StatusCode, json);
    }

    public Task<(int Status, JsonObject Body)> PostAsync(string url, JsonNode body, string? token = null) =>
        SendAsync(HttpMethod.Post, url, body.ToJsonString(), token);

    public async Task<JsonObject> PostOkAsync(string url, JsonNode body, string? token = null)
    {
        var (status, json) = await PostAsync(url, body, token);
        status.Should().Be(200, $"POST {url} answered {json.ToJsonString()}");
        return json;
    }

    public async Task<(string UserId, string Token)> RegisterAsync()
    {
        var json = await PostOkAsync("/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = "u" + Guid.NewGuid().ToString("N")[..10], ["password"] = "correct horse battery",
            ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        return (json["user_id"]!.GetValue<string>(), json["access_token"]!.GetValue<string>());
    }

    public async Task<string> CreateRoomAsync(string token, JsonObject? body = null)
    {
        var json = await PostOkAsync("/_matrix/client/v3/createRoom", body ?? new JsonObject { ["preset"] = "private_chat" }, token);
        return json["room_id"]!.GetValue<string>();
    }

    public static string InviteUrl(string roomId) => $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/invite";

    public static string NewAddress() => $"someone.{Guid.NewGuid().ToString("N")[..8]}@example.org";

    /// <summary>The v3 third-party invite body, for the embedded identity server (named <c>localhost</c>).</summary>
    public static JsonObject ThirdPartyInvite(string address, string idAccessToken, string idServer = "localhost") => new()
    {
        ["id_server"] = idServer, ["id_access_token"] = idAccessToken, ["medium"] = "email", ["address"] = address,
    };

    /// <summary>requestToken on the embedded identity server, the token read from the mail drop, submitToken: a validated session.</summary>
    public async Task<(string Sid, string ClientSecret)> ValidateEmailAsync(string address, string idToken)
    {
        var clientSecret = "secret-" + Guid.NewGuid().ToString("N");
        var requested = await PostOkAsync("/_matrix/identity/v2/validate/email/requestToken",
            new JsonObject { ["client_secret"] = clientSecret, ["email"] = address, ["send_attempt"] = 1 }, idToken);
        var sid = requested["sid"]!.GetValue<string>();
        var token = await MailTokenAsync(MailDrop, sid);
        var submitted = await PostOkAsync("/_matrix/identity/v2/validate/email/submitToken",
            new JsonObject { ["sid"] = sid, ["client_secret"] = clientSecret, ["token"] = token }, idToken);
        submitted["success"]!.GetValue<bool>().Should().BeTrue();
        return (sid, clientSecret);
    }

    /// <summary>The <c>Token:</c> line of the validation e-mail for session <paramref name="sid"/> in a mail drop.</summary>
    public static async Task<string> MailTokenAsync(string mailDrop, string sid)
    {
        var mail = await MailAsync(mailDrop, text => text.Contains($"Session: {sid}", StringComparison.Ordinal));
        return mail.Split('\n').Select(line => line.Trim()).Single(line => line.StartsWith("Token: ", StringComparison.Ordinal))["Token: ".Length..];
    }

    /// <summary>
    /// The one e-mail in the mail drop that <paramref name="matches"/>. Mails leave through the identity server's outbox
    /// after the request's transaction commits, so this waits for it (bounded: 30 s).
    /// </summary>
    public static async Task<string> MailAsync(string mailDrop, Func<string, bool> matches)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var found = Directory.Exists(mailDrop) ? Directory.GetFiles(mailDrop, "*.eml").Select(File.ReadAllText).Where(matches).ToList() : [];
            if (found.Count > 0 || DateTime.UtcNow > deadline) return found.Should().ContainSingle("one e-mail matches in " + mailDrop).Subject;
            await Task.Delay(20);
        }
    }

    /// <summary>Waits (bounded: 30 s) until the identity server's outbox has handed every invite of the address to the homeserver.</summary>
    public async Task WaitForInvitesDeliveredAsync(string address)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            await using var session = Host.Services.GetRequiredService<IIdentityStore>().QuerySession();
            var pending = await session.Query<IdentityStoredInvite>().Where(i => i.Address == address && i.DeliveredAt == null).CountAsync();
            if (pending == 0) return;
            DateTime.UtcNow.Should().BeBefore(deadline, $"the invites for {address} should have been delivered");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Validates the address and binds it to the token's user through <c>POST /account/3pid/bind</c>, and waits for the
    /// identity server's <c>/3pid/onbind</c> notification to have been processed.
    /// </summary>
    public async Task BindAsync(string address, string userToken)
    {
        var (sid, secret) = await ValidateEmailAsync(address, userToken);
        await PostOkAsync("/_matrix/client/v3/account/3pid/bind", new JsonObject
        {
            ["sid"] = sid, ["client_secret"] = secret, ["id_server"] = "localhost", ["id_access_token"] = userToken,
        }, userToken);
        await WaitForInvitesDeliveredAsync(address);
    }

    public async Task<IReadOnlyList<MatrixEvent>> EventsAsync(string roomId)
    {
        await using var session = Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return (await session.Events.FetchStreamAsync(roomId)).Select(e => (MatrixEvent)e.Data).ToList();
    }

    public async Task<T?> LoadAsync<T>(string id) where T : notnull
    {
        await using var session = Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return await session.LoadAsync<T>(id);
    }

    /// <summary>The room's third-party invite with this token: the projection's document.</summary>
    public async Task<Projections.Documents.ThirdPartyInvite?> InviteAsync(string roomId, string token)
    {
        await using var session = Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return await session.LoadAsync<Projections.Documents.ThirdPartyInvite>(Projections.Documents.ThirdPartyInvite.IdFor(roomId, token));
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>() where T : notnull
    {
        await using var session = Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return await session.Query<T>().ToListAsync();
    }

    /// <summary>A document of the embedded identity server's own store.</summary>
    public async Task<T?> IdentityLoadAsync<T>(string id) where T : notnull
    {
        await using var session = Host.Services.GetRequiredService<IIdentityStore>().QuerySession();
        return await session.LoadAsync<T>(id);
    }

    public async Task<IReadOnlyList<T>> IdentityQueryAsync<T>() where T : notnull
    {
        await using var session = Host.Services.GetRequiredService<IIdentityStore>().QuerySession();
        return await session.Query<T>().ToListAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ThirdPartyInviteCollection : ICollectionFixture<ThirdPartyInviteFixture>
{
    public const string Name = "third-party-invites";
}
