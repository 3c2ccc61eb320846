using System.Text.Json;
using System.Text.Json.Nodes;
using Alba;

namespace Matrix.Rooms.Host.Tests.Reliability;

/// <summary>An HTTP answer of the Host: status, the JSON body (empty object when there is none) and the raw text.</summary>
public sealed record Answer(int Status, JsonObject Body, string Text)
{
    public string? EventId => Body["event_id"]?.GetValue<string>();
    public string? ErrCode => Body["errcode"]?.GetValue<string>();

    /// <summary>Every non-200 answer must be Matrix error JSON: an <c>errcode</c> and an <c>error</c>.</summary>
    public bool IsMatrixError => Status != 200 && ErrCode is not null && Body["error"] is JsonValue;

    public override string ToString() => $"{Status} {Text}";
}

/// <summary>Requests to an Alba host (real ASP.NET pipeline, in-memory transport) for the reliability suites.</summary>
public sealed class HostClient(IAlbaHost host)
{
    /// <summary>No request may take longer; a request that does counts as hung (the suites assert there is none).</summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(90);

    public async Task<Answer> SendAsync(HttpMethod method, string url, string? body = null, string? token = null)
    {
        var scenario = host.Scenario(s =>
        {
            if (method == HttpMethod.Get) s.Get.Url(url);
            else if (method == HttpMethod.Put) s.Put.Url(url);
            else s.Post.Url(url);
            if (method != HttpMethod.Get) s.Body.TextIs(body ?? "{}");
            if (token is not null) s.WithBearerToken(token);
            s.IgnoreStatusCode();
        });
        IScenarioResult result;
        try
        {
            result = await scenario.WaitAsync(HangLimit);
        }
        catch (TimeoutException)
        {
            return new Answer(-1, new JsonObject(), $"no answer within {HangLimit.TotalSeconds} s");
        }
        var text = await result.ReadAsTextAsync();
        JsonObject json;
        try
        {
            json = string.IsNullOrEmpty(text) ? new JsonObject() : JsonNode.Parse(text) as JsonObject ?? new JsonObject();
        }
        catch (JsonException)
        {
            json = new JsonObject();
        }
        return new Answer(result.Context.Response.StatusCode, json, text);
    }

    public Task<Answer> PostAsync(string url, JsonNode body, string? token = null) => SendAsync(HttpMethod.Post, url, body.ToJsonString(), token);

    public Task<Answer> PutAsync(string url, JsonNode body, string? token = null) => SendAsync(HttpMethod.Put, url, body.ToJsonString(), token);

    public async Task<(string UserId, string Token)> RegisterAsync(string username)
    {
        var answer = await PostAsync("/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = username, ["password"] = "correct horse battery", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        if (answer.Status != 200) throw new InvalidOperationException($"register {username}: {answer}");
        return (answer.Body["user_id"]!.GetValue<string>(), answer.Body["access_token"]!.GetValue<string>());
    }

    public async Task<string> CreateRoomAsync(string token, string preset)
    {
        var answer = await PostAsync("/_matrix/client/v3/createRoom", new JsonObject { ["preset"] = preset }, token);
        if (answer.Status != 200) throw new InvalidOperationException($"createRoom: {answer}");
        return answer.Body["room_id"]!.GetValue<string>();
    }

    public static string Room(string roomId) => Uri.EscapeDataString(roomId);

    public static string SendPath(string roomId, string type, string txnId) =>
        $"/_matrix/client/v3/rooms/{Room(roomId)}/send/{Uri.EscapeDataString(type)}/{Uri.EscapeDataString(txnId)}";
}
