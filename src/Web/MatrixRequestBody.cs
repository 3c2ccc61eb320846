using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Microsoft.AspNetCore.Http;

namespace Matrix.Rooms.Web;

/// <summary>
/// A request body as a JSON object, read through the one input gate (<see cref="JsonInputPolicy"/>), and its fields with
/// the spec's error codes: the Host and the identity server read bodies the same way.
/// </summary>
public static class MatrixRequestBody
{
    /// <summary>The largest request body accepted (1 MiB; a Matrix event is at most 64 KiB).</summary>
    public const int MaxBodyBytes = 1024 * 1024;

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
