using System.Text.Json;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Host.Infrastructure.Http;

/// <summary>Matrix JSON in and out: results, errors, and reading a request body with the spec's error codes.</summary>
public static class MatrixHttp
{
    /// <summary>The largest request body accepted (1 MiB; a Matrix event is at most 64 KiB).</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    public static IResult Ok(JsonNode body) => Results.Text(body.ToJsonString(MatrixJson.Options), "application/json", statusCode: 200);

    public static IResult Ok(object body) =>
        Results.Text(JsonSerializer.Serialize(body, body.GetType(), MatrixJson.Options), "application/json", statusCode: 200);

    public static IResult Error(MatrixError error) => new ErrorResult(error);

    /// <summary>A Matrix error as the answer; a 429 also carries <c>Retry-After</c>.</summary>
    private sealed class ErrorResult(MatrixError error) : IResult
    {
        public Task ExecuteAsync(HttpContext http) => WriteErrorAsync(http, error).AsTask();
    }

    /// <summary>Writes a Matrix error, with <c>Retry-After</c> (whole seconds, rounded up) when it carries <c>retry_after_ms</c>.</summary>
    public static async ValueTask WriteErrorAsync(HttpContext http, MatrixError error)
    {
        MatrixRateLimits.AddRetryAfter(http.Response, error);
        http.Response.StatusCode = error.Status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(error.ToJson().ToJsonString(MatrixJson.Options), http.RequestAborted);
    }

    public static IResult From<T>(Result<T> result, Func<T, JsonNode> body) =>
        result.IsSuccess ? Ok(body(result.Value)) : Error(result.Error!);

    /// <summary>
    /// Reads the body as a JSON object: not JSON → <c>400 M_NOT_JSON</c>; JSON but not an object → <c>400 M_BAD_JSON</c>.
    /// An empty body reads as <c>{}</c>, which several endpoints allow.
    /// </summary>
    public static async Task<JsonObject> ReadObjectAsync(this HttpRequest request, CancellationToken ct = default)
    {
        if (request.ContentLength > MaxBodyBytes) throw new MatrixException(MatrixError.TooLarge("The request body is too large"));
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            // Kestrel enforces the limit too; this also holds behind other servers and in-memory test hosts.
            if (buffer.Length + read > MaxBodyBytes) throw new MatrixException(MatrixError.TooLarge("The request body is too large"));
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0) return new JsonObject();
        // The one input gate (JsonInputPolicy): depth, duplicate keys, Unicode, NUL and numbers, for every endpoint.
        var parsed = JsonInputPolicy.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        if (!parsed.IsSuccess) throw new MatrixException(parsed.Error!);
        return parsed.Value as JsonObject ?? throw new MatrixException(MatrixError.BadJson("The request body must be a JSON object"));
    }

    public static string RequiredString(this JsonObject body, string name) =>
        body.OptionalString(name) is { } value ? value : throw new MatrixException(MatrixError.MissingParam(name));

    public static string? OptionalString(this JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw new MatrixException(MatrixError.BadJson($"'{name}' must be a string")),
    };

    public static bool? OptionalBool(this JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        _ => throw new MatrixException(MatrixError.BadJson($"'{name}' must be a boolean")),
    };

    public static JsonObject? OptionalObject(this JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonObject o => o,
        _ => throw new MatrixException(MatrixError.BadJson($"'{name}' must be an object")),
    };

    public static JsonArray? OptionalArray(this JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonArray a => a,
        _ => throw new MatrixException(MatrixError.BadJson($"'{name}' must be an array")),
    };

    public static IReadOnlyList<string> OptionalStrings(this JsonObject body, string name) =>
        body.OptionalArray(name)?.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s)
            ? s
            : throw new MatrixException(MatrixError.BadJson($"'{name}' must be an array of strings"))).ToList() ?? [];
}
