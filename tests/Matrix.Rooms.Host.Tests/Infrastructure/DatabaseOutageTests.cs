using System.Text.Json.Nodes;
using Alba;
using Matrix.Rooms.Host.Infrastructure.Postgres;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.Infrastructure;

/// <summary>
/// PostgreSQL stopped and started again under a running Host: meanwhile every request gets a Matrix error (never a
/// crash or an HTML page), and afterwards the Host serves again by itself, with nothing acknowledged lost.
/// </summary>
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "matrix-rooms-outage-" + Guid.NewGuid().ToString("N")[..8]);
    private EmbeddedPostgres _cluster = null!;
    private IAlbaHost _host = null!;

    private EmbeddedPostgresOptions Options => new()
    {
        DataDirectory = Path.Combine(_root, "postgres"), Database = "outage",
        ServerSettings = new Dictionary<string, string> { ["fsync"] = "off" },
    };

    public async Task InitializeAsync()
    {
        _cluster = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance);
        var connectionString = _cluster.ConnectionString();
        _host = await AlbaHost.For<Program>(builder =>
        {
            builder.UseSetting("ConnectionStrings:Marten", connectionString);
            builder.UseSetting("MatrixRooms:PasswordHashIterations", "1000");
            builder.ConfigureServices(services => services.RunWolverineInSoloMode());
        });
    }

    [Fact]
    public async Task The_host_answers_with_matrix_errors_while_the_database_is_down_and_recovers_by_itself()
    {
        var token = await Register("before");
        var roomId = await CreateRoom(token);

        _cluster.Dispose(); // the database goes away under the running Host
        var (status, body) = await Send(HttpMethod.Post, "/_matrix/client/v3/createRoom", "{}", token);
        status.Should().BeInRange(500, 599);
        body["errcode"]!.GetValue<string>().Should().Be("M_UNKNOWN");

        _cluster = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance); // same data, same port
        var recovered = false;
        for (var attempt = 0; attempt < 40 && !recovered; attempt++)
        {
            (status, _) = await Send(HttpMethod.Get, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/joined_members", null, token);
            recovered = status == 200;
            if (!recovered) await Task.Delay(250);
        }
        recovered.Should().BeTrue("the Host reconnects once the database is back");
        (await CreateRoom(token)).Should().StartWith("!", "commands are accepted again");
    }

    private async Task<string> Register(string name)
    {
        var (_, body) = await Send(HttpMethod.Post, "/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = name, ["password"] = "long enough pw", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        }.ToJsonString());
        return body["access_token"]!.GetValue<string>();
    }

    private async Task<string> CreateRoom(string token)
    {
        var (status, body) = await Send(HttpMethod.Post, "/_matrix/client/v3/createRoom", "{}", token);
        status.Should().Be(200, body.ToJsonString());
        return body["room_id"]!.GetValue<string>();
    }

    private async Task<(int Status, JsonObject Body)> Send(HttpMethod method, string url, string? body, string? token = null)
    {
        var result = await _host.Scenario(s =>
        {
            if (method == HttpMethod.Get) s.Get.Url(url);
            else s.Post.Url(url);
            if (body is not null) s.Body.TextIs(body);
            if (token is not null) s.WithBearerToken(token);
            s.IgnoreStatusCode();
        });
        var text = await result.ReadAsTextAsync();
        return (result.Context.Response.StatusCode, JsonNode.Parse(text) as JsonObject ?? new JsonObject());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _cluster.Dispose();
        NpgsqlConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
