using System.Text.Json.Nodes;
using Alba;
using Matrix.Rooms.Domain.Events;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.Support;

/// <summary>One Host (Alba, in memory HTTP) on its own database, shared by a test collection.</summary>
public class HostFixture : IAsyncLifetime
{
    public IAlbaHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var connectionString = TestDatabase.NewDatabase("host");
        Host = await AlbaHost.For<Program>(builder =>
        {
            builder.UseSetting("ConnectionStrings:Marten", connectionString);
            builder.UseSetting("MatrixRooms:PasswordHashIterations", "1000");
            builder.ConfigureServices(services => services.RunWolverineInSoloMode());
            Configure(builder);
        });
    }

    /// <summary>More settings for a fixture of its own (e.g. the sharded host: Sharding/ShardedHostFixture).</summary>
    protected virtual void Configure(IWebHostBuilder builder) { }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    public IMessageBus Bus => Host.Services.CreateScope().ServiceProvider.GetRequiredService<IMessageBus>();

    /// <summary>Sends a request and returns status and JSON body, whatever the status.</summary>
    public async Task<(int Status, JsonObject Body)> SendAsync(HttpMethod method, string url, string? body = null, string? token = null)
    {
        var result = await Host.Scenario(s =>
        {
            // Url(…) keeps the query string as given (ToUrl would escape it).
            if (method == HttpMethod.Get) s.Get.Url(url);
            else if (method == HttpMethod.Put) s.Put.Url(url);
            else if (method == HttpMethod.Delete) s.Delete.Url(url);
            else s.Post.Url(url);
            if (method != HttpMethod.Get) s.Body.TextIs(body ?? "");
            if (token is not null) s.WithBearerToken(token);
            s.IgnoreStatusCode();
        });
        var text = await result.ReadAsTextAsync();
        var json = string.IsNullOrEmpty(text) ? new JsonObject() : JsonNode.Parse(text, documentOptions: JsonInputPolicy.DocumentOptions) as JsonObject ?? new JsonObject();
        return (result.Context.Response.StatusCode, json);
    }

    /// <summary>
    /// Sends raw bytes (which need not be valid UTF-8 or JSON) as a loopback caller; returns the status, the body's text
    /// and its JSON (null when the body is not a JSON object).
    /// </summary>
    public async Task<(int Status, string Text, JsonObject? Body)> SendRawAsync(string method, string url, byte[]? body, string? token = null)
    {
        var result = await Host.Scenario(s =>
        {
            s.ConfigureHttpContext(c =>
            {
                c.Request.Method = method;
                c.Request.Path = PathString.FromUriComponent(url.Split('?')[0]);
                // Kept as given: a test may send what a client would never escape.
                c.Request.QueryString = new QueryString(url.Contains('?') ? url[url.IndexOf('?')..] : "");
                c.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
                if (body is not null)
                {
                    c.Request.Body = new MemoryStream(body);
                    c.Request.ContentLength = body.Length;
                    c.Request.ContentType = "application/json";
                }
            });
            if (token is not null) s.WithBearerToken(token);
            s.IgnoreStatusCode();
        });
        var text = await result.ReadAsTextAsync();
        JsonObject? json;
        try { json = JsonNode.Parse(text, documentOptions: JsonInputPolicy.DocumentOptions) as JsonObject; }
        catch (System.Text.Json.JsonException) { json = null; }
        return (result.Context.Response.StatusCode, text, json);
    }

    /// <summary>The number of events in a room's stream (0 for no room): what "nothing stored" is checked against.</summary>
    public async Task<long> StreamVersionAsync(string roomId)
    {
        await using var session = Host.Services.GetRequiredService<Marten.IDocumentStore>().QuerySession();
        return (await session.Events.FetchStreamStateAsync(roomId))?.Version ?? 0;
    }

    public Task<(int Status, JsonObject Body)> PostAsync(string url, JsonNode body, string? token = null) =>
        SendAsync(HttpMethod.Post, url, body.ToJsonString(), token);

    public async Task<JsonObject> PostOkAsync(string url, JsonNode body, string? token = null)
    {
        var (status, json) = await PostAsync(url, body, token);
        status.Should().Be(200, $"POST {url} answered {json.ToJsonString()}");
        return json;
    }

    /// <summary>Registers a new user (m.login.dummy) and returns its user ID and access token.</summary>
    public async Task<(string UserId, string Token)> RegisterAsync(string? username = null)
    {
        username ??= "user" + Guid.NewGuid().ToString("N")[..10];
        var json = await PostOkAsync("/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = username, ["password"] = "correct horse battery", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        return (json["user_id"]!.GetValue<string>(), json["access_token"]!.GetValue<string>());
    }

    public async Task<string> CreateRoomAsync(string token, JsonObject? body = null)
    {
        var json = await PostOkAsync("/_matrix/client/v3/createRoom", body ?? new JsonObject(), token);
        return json["room_id"]!.GetValue<string>();
    }

    public static string Room(string roomId) => Uri.EscapeDataString(roomId);

    public async Task<(string UserId, string Token)> RegisterGuestAsync()
    {
        var json = await PostOkAsync("/_matrix/client/v3/register?kind=guest", new JsonObject());
        return (json["user_id"]!.GetValue<string>(), json["access_token"]!.GetValue<string>());
    }

    public Task<(int Status, JsonObject Body)> GetAsync(string url, string token) => SendAsync(HttpMethod.Get, url, token: token);

    public async Task<string> SetStateAsync(string token, string roomId, string type, JsonObject content, string stateKey = "")
    {
        var (status, json) = await SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{Room(roomId)}/state/{type}/{Uri.EscapeDataString(stateKey)}",
            content.ToJsonString(), token);
        status.Should().Be(200, json.ToJsonString());
        return json["event_id"]!.GetValue<string>();
    }

    public async Task<string> SendMessageAsync(string token, string roomId, string body)
    {
        var (status, json) = await SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{Room(roomId)}/send/m.room.message/{Guid.NewGuid():N}",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = body }.ToJsonString(), token);
        status.Should().Be(200, json.ToJsonString());
        return json["event_id"]!.GetValue<string>();
    }

    public Task<(int Status, JsonObject Body)> JoinAsync(string token, string roomId) =>
        PostAsync($"/_matrix/client/v3/rooms/{Room(roomId)}/join", new JsonObject(), token);
}

[CollectionDefinition(Name)]
public sealed class HostCollection : ICollectionFixture<HostFixture>
{
    public const string Name = "host";
}
