using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using NodaTime;

namespace Matrix.Rooms.Domain.Events;

/// <summary>JSON options for Matrix wire JSON: names come from attributes, numbers stay numbers.</summary>
public static class MatrixJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.General)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        MaxDepth = JsonInputPolicy.ReadDepth,
    };

    /// <summary>
    /// Lets <paramref name="options"/> (Marten's, Wolverine's, ASP.NET's) read and write everything the engine accepts:
    /// the depth of <see cref="JsonInputPolicy.ReadDepth"/>, not System.Text.Json's default of 64, which an accepted
    /// event wrapped in a document or a response can exceed.
    /// </summary>
    public static JsonSerializerOptions AllowMatrixDepth(this JsonSerializerOptions options)
    {
        options.MaxDepth = JsonInputPolicy.ReadDepth;
        return options;
    }
}

/// <summary><c>origin_server_ts</c> and friends: a NodaTime <see cref="Instant"/> as integer milliseconds since the Unix epoch.</summary>
public sealed class UnixMillisInstantConverter : JsonConverter<Instant>
{
    public override Instant Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Number when reader.TryGetInt64(out var ms) => Instant.FromUnixTimeMilliseconds(ms),
            JsonTokenType.Null => default,
            _ => throw new JsonException("origin_server_ts must be an integer number of milliseconds"),
        };

    public override void Write(Utf8JsonWriter writer, Instant value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(value.ToUnixTimeMilliseconds());
}

/// <summary>
/// Reads and writes a <see cref="MatrixEvent"/> held in a property of the base type: written as its concrete type,
/// read back through <see cref="MatrixEvent.FromJson(System.Text.Json.Nodes.JsonObject)"/> so the subtype follows <c>type</c>.
/// </summary>
public sealed class MatrixEventConverter : JsonConverter<MatrixEvent>
{
    public override MatrixEvent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        System.Text.Json.Nodes.JsonNode.Parse(ref reader) is System.Text.Json.Nodes.JsonObject obj ? MatrixEvent.FromJson(obj) : null;

    public override void Write(Utf8JsonWriter writer, MatrixEvent value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, value.GetType(), MatrixJson.Options);
}
