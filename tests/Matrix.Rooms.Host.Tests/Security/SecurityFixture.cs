using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Host.Tests.ThirdPartyInvites;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.Security;

/// <summary>
/// The Host on a real Kestrel (loopback, its own port, database and data directory) with low rate limits, one password
/// hash at a time with a queue of <see cref="HashQueue"/>, and every log line of every category at every level captured
/// (<see cref="Logs"/>). Clients connect from distinct loopback addresses (<c>127.0.0.2</c>, <c>127.0.0.3</c>, …), so
/// each test has its own per-address limits and the per-address partitioning is real.
/// </summary>
public sealed class SecurityFixture : IAsyncLifetime
{
    public const int RegisterBurst = 3;
    public const int LoginBurst = 6;
    public const int FailedLoginBurst = 3;
    public const int SendBurst = 5;
    public const int InviteBurst = 3;
    public const int GuestsPerMinute = 2;
    public const int HashQueue = 2;
    public const string NextLinkHost = "app.example.org";

    private static int _lastAddress = 1;

    public int Port { get; } = TcpProbe.ClosedPort();
    public string BaseUrl => $"http://127.0.0.1:{Port}";
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "matrix-rooms-sec-" + Guid.NewGuid().ToString("N")[..8]);
    public string MailDrop => Path.Combine(DataDirectory, "maildrop");
    public CapturingLoggerProvider Logs { get; } = new();
    public WebApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(Program).Assembly.GetName().Name, ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["urls"] = BaseUrl,
            ["ConnectionStrings:Marten"] = TestDatabase.NewDatabase("security"),
            ["MatrixRooms:PasswordHashIterations"] = "1000",
            ["MatrixRooms:DataDirectory"] = DataDirectory,
            ["MatrixRooms:RateLimits:Register:Burst"] = RegisterBurst.ToString(),
            ["MatrixRooms:RateLimits:Register:PerSecond"] = "0.0001",
            ["MatrixRooms:RateLimits:Login:Burst"] = LoginBurst.ToString(),
            ["MatrixRooms:RateLimits:Login:PerSecond"] = "0.0001",
            ["MatrixRooms:RateLimits:FailedLogin:Burst"] = FailedLoginBurst.ToString(),
            ["MatrixRooms:RateLimits:FailedLogin:PerSecond"] = "0.0001",
            ["MatrixRooms:RateLimits:Send:Burst"] = SendBurst.ToString(),
            ["MatrixRooms:RateLimits:Send:PerSecond"] = "0.0001",
            ["MatrixRooms:RateLimits:Invite:Burst"] = InviteBurst.ToString(),
            ["MatrixRooms:RateLimits:Invite:PerSecond"] = "0.0001",
            ["MatrixRooms:RateLimits:PasswordHashing:MaxConcurrent"] = "1",
            ["MatrixRooms:RateLimits:PasswordHashing:QueueLimit"] = HashQueue.ToString(),
            ["MatrixRooms:GuestRegistrationsPerMinute"] = GuestsPerMinute.ToString(),
            ["MatrixRooms:IdentityServer:NextLinkHosts:0"] = NextLinkHost,
        });
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddProvider(Logs);
        builder.AddMatrixRooms();
        builder.WebHost.UseUrls(BaseUrl);
        builder.Services.RunWolverineInSoloMode();
        App = builder.Build();
        App.UseMatrixRoomsApi();
        await App.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A client connecting from a loopback address no other client of this run uses.</summary>
    public Client NewClient()
    {
        var n = Interlocked.Increment(ref _lastAddress);
        return new Client(this, new IPAddress([127, (byte)(n / 250 % 250), (byte)(n % 250 + 1), 1]));
    }

    /// <summary>Sends raw bytes on a new connection and returns everything the server answers before it closes or goes quiet.</summary>
    public async Task<string> RawAsync(byte[] request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        var stream = client.GetStream();
        await stream.WriteAsync(request);
        var answer = new MemoryStream();
        var buffer = new byte[16 * 1024];
        using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, quiet.Token)) > 0)
            {
                answer.Write(buffer, 0, read);
                if (IsComplete(answer.ToArray())) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The server reset or stopped answering: what came so far is the answer.
        }
        return Encoding.Latin1.GetString(answer.ToArray());
    }

    /// <summary>The status line's code and the body (chunked transfer decoded) of a raw HTTP/1.1 answer.</summary>
    public static (int Status, string Head, string Body) ParseRaw(string answer)
    {
        var end = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = end < 0 ? answer : answer[..end];
        var body = end < 0 ? "" : answer[(end + 4)..];
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            var decoded = new StringBuilder();
            var at = 0;
            while (at < body.Length)
            {
                var lineEnd = body.IndexOf("\r\n", at, StringComparison.Ordinal);
                if (lineEnd < 0) break;
                var size = Convert.ToInt32(body[at..lineEnd].Split(';')[0].Trim(), 16);
                if (size == 0) break;
                decoded.Append(body, lineEnd + 2, size);
                at = lineEnd + 2 + size + 2;
            }
            body = decoded.ToString();
        }
        return (int.Parse(head.Split(' ')[1]), head, body);
    }

    private static bool IsComplete(byte[] response)
    {
        var text = Encoding.Latin1.GetString(response);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0) return false;
        var length = text[..end].Split("\r\n").Select(h => h.Split(':', 2))
            .Where(h => h.Length == 2 && h[0].Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(h => int.Parse(h[1].Trim())).FirstOrDefault(-1);
        if (text[..end].Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            return text.EndsWith("0\r\n\r\n", StringComparison.Ordinal);
        return length >= 0 && response.Length >= end + 4 + length;
    }

    /// <summary>An HTTP client bound to one source address.</summary>
    public sealed class Client(SecurityFixture fixture, IPAddress source) : IDisposable
    {
        public IPAddress Address { get; } = source;

        public HttpClient Http { get; } = new(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        }) { BaseAddress = new Uri(fixture.BaseUrl), Timeout = TimeSpan.FromSeconds(60) };

        public async Task<Response> SendAsync(HttpMethod method, string url, JsonNode? body = null, string? token = null,
            Action<HttpRequestMessage>? configure = null)
        {
            using var request = new HttpRequestMessage(method, url);
            if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            else if (method != HttpMethod.Get) request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            configure?.Invoke(request);
            using var response = await Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            JsonObject json;
            try
            {
                json = string.IsNullOrEmpty(text) ? new JsonObject() : JsonNode.Parse(text) as JsonObject ?? new JsonObject();
            }
            catch (System.Text.Json.JsonException)
            {
                json = new JsonObject { ["text"] = text };
            }
            return new Response((int)response.StatusCode, json, response.Headers);
        }

        public Task<Response> PostAsync(string url, JsonNode body, string? token = null) => SendAsync(HttpMethod.Post, url, body, token);

        public async Task<JsonObject> OkAsync(HttpMethod method, string url, JsonNode? body = null, string? token = null)
        {
            var response = await SendAsync(method, url, body, token);
            response.Status.Should().Be(200, $"{method} {url} answered {response.Body.ToJsonString()}");
            return response.Body;
        }

        public Task<Response> RegisterRawAsync(string username, string password = "correct horse battery") =>
            PostAsync("/_matrix/client/v3/register", new JsonObject
            {
                ["username"] = username, ["password"] = password, ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
            });

        public async Task<(string UserId, string Token)> RegisterAsync(string? username = null, string password = "correct horse battery")
        {
            var response = await RegisterRawAsync(username ?? "u" + Guid.NewGuid().ToString("N")[..10], password);
            response.Status.Should().Be(200, response.Body.ToJsonString());
            return (response.Body["user_id"]!.GetValue<string>(), response.Body["access_token"]!.GetValue<string>());
        }

        public Task<Response> LoginAsync(string user, string password) => PostAsync("/_matrix/client/v3/login", new JsonObject
        {
            ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = user }, ["password"] = password,
        });

        public async Task<string> CreateRoomAsync(string token, JsonObject? body = null) =>
            (await OkAsync(HttpMethod.Post, "/_matrix/client/v3/createRoom", body ?? new JsonObject(), token))["room_id"]!.GetValue<string>();

        public Task<Response> SendMessageAsync(string token, string roomId, string text) =>
            SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/send/m.room.message/{Guid.NewGuid():N}",
                new JsonObject { ["msgtype"] = "m.text", ["body"] = text }, token);

        public void Dispose() => Http.Dispose();
    }

    public sealed record Response(int Status, JsonObject Body, HttpResponseHeaders Headers)
    {
        public string? ErrCode => Body["errcode"]?.GetValue<string>();
    }
}

/// <summary>
/// Keeps every log line a Host writes, as a provider would print it: the formatted message, each structured value,
/// the exception's full text, and the scopes around it.
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IExternalScopeProvider? _scopes;

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    /// <summary>The lines that contain <paramref name="text"/>.</summary>
    public IReadOnlyList<string> Containing(string text) => _lines.Where(l => l.Contains(text, StringComparison.Ordinal)).ToList();

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = new StringBuilder().Append(logLevel).Append(' ').Append(category).Append(": ").Append(formatter(state, exception));
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
                foreach (var (key, value) in values) line.Append(" | ").Append(key).Append('=').Append(value);
            if (exception is not null) line.Append(" | ").Append(exception);
            provider._scopes?.ForEachScope((scope, l) => l.Append(" | scope ").Append(scope is IEnumerable<KeyValuePair<string, object?>> kv
                ? string.Join(", ", kv.Select(p => $"{p.Key}={p.Value}")) : scope), line);
            provider._lines.Enqueue(line.ToString());
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SecurityCollection : ICollectionFixture<SecurityFixture>
{
    public const string Name = "security";
}
