using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Matrix.Rooms.Host.Tests.Cluster;

/// <summary>One answer: the status (<c>-1</c> when the node did not answer at all: refused, reset, timed out) and the JSON body.</summary>
public sealed record NodeAnswer(int Status, JsonObject? Body, string? Failure = null)
{
    public bool Answered => Status > 0;
    public string? EventId => Body?["event_id"]?.GetValue<string>();
    public override string ToString() => Answered ? $"{Status} {Body?.ToJsonString()}" : $"no answer ({Failure})";
}

/// <summary>
/// The few client-server calls the cluster test and bench make, over plain HTTP with keep-alive connections, to
/// whichever node each call names. Shared with bench/Matrix.Rooms.Bench (linked), so it names nothing of either.
/// </summary>
public sealed class MatrixHttp(TimeSpan timeout) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10), MaxConnectionsPerServer = 256 })
    {
        Timeout = timeout,
    };

    public static string Room(string roomId) => Uri.EscapeDataString(roomId);

    public async Task<NodeAnswer> CallAsync(HttpMethod method, string baseUrl, string path, JsonObject? body = null, string? token = null,
        CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(method, baseUrl + path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        try
        {
            using var response = await _http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            JsonObject? json = null;
            try
            {
                json = text.Length > 0 ? JsonNode.Parse(text) as JsonObject : null;
            }
            catch (System.Text.Json.JsonException)
            {
            }
            return new NodeAnswer((int)response.StatusCode, json);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException && !ct.IsCancellationRequested)
        {
            return new NodeAnswer(-1, null, e.GetType().Name + ": " + e.Message);
        }
    }

    public async Task<(string UserId, string Token)> RegisterAsync(string baseUrl, string username)
    {
        var answer = await CallAsync(HttpMethod.Post, baseUrl, "/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = username, ["password"] = "correct horse battery", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        var body = Ok(answer, "register");
        return (body["user_id"]!.GetValue<string>(), body["access_token"]!.GetValue<string>());
    }

    public async Task<string> CreateRoomAsync(string baseUrl, string token, string preset = "public_chat") =>
        Ok(await CallAsync(HttpMethod.Post, baseUrl, "/_matrix/client/v3/createRoom", new JsonObject { ["preset"] = preset }, token), "createRoom")
            ["room_id"]!.GetValue<string>();

    public async Task JoinAsync(string baseUrl, string token, string roomId) =>
        Ok(await CallAsync(HttpMethod.Post, baseUrl, $"/_matrix/client/v3/rooms/{Room(roomId)}/join", new JsonObject(), token), "join");

    public Task<NodeAnswer> SendAsync(string baseUrl, string token, string roomId, string txnId, string text, CancellationToken ct = default) =>
        CallAsync(HttpMethod.Put, baseUrl, $"/_matrix/client/v3/rooms/{Room(roomId)}/send/m.room.message/{Uri.EscapeDataString(txnId)}",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = text }, token, ct);

    public Task<NodeAnswer> InviteAsync(string baseUrl, string token, string roomId, string userId) =>
        CallAsync(HttpMethod.Post, baseUrl, $"/_matrix/client/v3/rooms/{Room(roomId)}/invite", new JsonObject { ["user_id"] = userId }, token);

    public Task<NodeAnswer> SyncAsync(string baseUrl, string token, string? since, int timeoutMs, CancellationToken ct = default) =>
        CallAsync(HttpMethod.Get, baseUrl, $"/_matrix/client/v3/sync?timeout={timeoutMs}" + (since is null ? "" : $"&since={Uri.EscapeDataString(since)}"),
            token: token, ct: ct);

    public static JsonObject Ok(NodeAnswer answer, string what) =>
        answer.Status == 200 && answer.Body is not null ? answer.Body : throw new InvalidOperationException($"{what}: {answer}");

    public void Dispose() => _http.Dispose();
}
