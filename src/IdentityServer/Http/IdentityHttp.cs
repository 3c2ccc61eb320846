using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.IdentityServer.Http;

/// <summary>
/// Matrix JSON in and out for the identity server's endpoints: the same answers as the Host's (one input gate,
/// <see cref="JsonInputPolicy"/>; errors as <c>errcode</c> + <c>error</c>), kept here so the identity server needs
/// nothing of the Host. Internal, so these extension methods never compete with the Host's own in its code.
/// </summary>
internal static class IdentityHttp
{
    /// <summary>The largest request body accepted (1 MiB, as the Host).</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    public static IResult Ok(JsonNode body) => Results.Text(body.ToJsonString(MatrixJson.Options), "application/json", statusCode: 200);

    public static IResult Error(MatrixError error) => new ErrorResult(error);

    private sealed class ErrorResult(MatrixError error) : IResult
    {
        public Task ExecuteAsync(HttpContext http) => WriteAsync(http, error);
    }

    /// <summary>Writes a Matrix error, with <c>Retry-After</c> (whole seconds, rounded up) when it carries <c>retry_after_ms</c>.</summary>
    public static async Task WriteAsync(HttpContext http, MatrixError error)
    {
        if (error.Extra?.GetValueOrDefault("retry_after_ms")?.GetValue<long>() is { } ms)
            http.Response.Headers.RetryAfter = ((ms + 999) / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.StatusCode = error.Status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(error.ToJson().ToJsonString(MatrixJson.Options), http.RequestAborted);
    }

    /// <summary>
    /// Reads the body as a JSON object: not JSON → <c>400 M_NOT_JSON</c>; JSON but not an object → <c>400 M_BAD_JSON</c>;
    /// too large → <c>413 M_TOO_LARGE</c>. An empty body reads as <c>{}</c>.
    /// </summary>
    public static async Task<JsonObject> ReadObjectAsync(this HttpRequest request, CancellationToken ct = default)
    {
        if (request.ContentLength > MaxBodyBytes) throw new MatrixException(MatrixError.TooLarge("The request body is too large"));
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes) throw new MatrixException(MatrixError.TooLarge("The request body is too large"));
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0) return new JsonObject();
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
