using System.Text.Json;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Errors;

namespace Matrix.Rooms.Domain.Events;

/// <summary>
/// The one input policy for JSON, wherever it comes from (an HTTP body, a bus command, an import file, a vector file):
/// whatever the engine accepts it can always read back, export, import and rebuild. Refused:
/// <list type="bullet">
/// <item>nesting deeper than <see cref="MaxDepth"/> containers (every reader allows <see cref="ReadDepth"/>, so a
/// document wrapped in an event, a read-model document or a response still reads);</item>
/// <item>duplicate keys in an object (the spec's Canonical JSON has one value per key; System.Text.Json would
/// otherwise fail only on first read);</item>
/// <item>strings that are not Unicode: lone surrogates (<c>"\ud800"</c>) and invalid UTF-8 bytes;</item>
/// <item>NUL (<c>\u0000</c>) in a string or key: PostgreSQL's <c>jsonb</c> cannot store it;</item>
/// <item>numbers that are not plain integers in Canonical JSON's range [-(2**53)+1, (2**53)-1] (no fraction, no
/// exponent): they could not be signed or hashed (spec "Canonical JSON"; Synapse refuses them the same way).</item>
/// </list>
/// Bytes that are not JSON at all are <c>M_NOT_JSON</c>; JSON the policy refuses is <c>M_BAD_JSON</c>.
/// </summary>
public static class JsonInputPolicy
{
    /// <summary>How many containers (objects and arrays) an accepted document may nest: a request body, an event's content.</summary>
    public const int MaxDepth = 64;

    /// <summary>What every reader and writer of the engine's JSON allows: room for the envelopes around accepted documents.</summary>
    public const int ReadDepth = 2 * MaxDepth;

    /// <summary>Options for parsing JSON the engine stored or accepted before.</summary>
    public static JsonDocumentOptions DocumentOptions => new() { MaxDepth = ReadDepth, AllowDuplicateProperties = false };

    /// <summary>Parses UTF-8 <paramref name="utf8"/> as JSON under the policy.</summary>
    public static Result<JsonNode> Parse(ReadOnlySpan<byte> utf8)
    {
        if (Validate(utf8) is { } refused) return refused;
        // Validated: the parse below cannot meet a construct the pass above let through.
        return JsonNode.Parse(utf8, documentOptions: DocumentOptions) is { } node
            ? node
            : MatrixError.BadJson("The JSON is null");
    }

    /// <summary>Parses <paramref name="json"/> under the policy.</summary>
    public static Result<JsonNode> Parse(string json) => Parse(System.Text.Encoding.UTF8.GetBytes(json));

    /// <summary>Parses a file's text under the policy; throws <see cref="JsonException"/> naming what it refused.</summary>
    public static JsonNode ParseOrThrow(string json)
    {
        var parsed = Parse(json);
        return parsed.IsSuccess ? parsed.Value : throw new JsonException(parsed.Error!.Error);
    }

    /// <summary>
    /// Null when <paramref name="utf8"/> is one JSON value the policy accepts; else why not. The whole text is read
    /// first, so text that is not JSON at all is <c>M_NOT_JSON</c> even when it also breaks the policy.
    /// </summary>
    /// <param name="maxDepth">The nesting allowed: <see cref="MaxDepth"/> for a body or content; more for an envelope
    /// around content (an import line is an event, whose content <see cref="EventLimits"/> then holds to MaxDepth).</param>
    public static MatrixError? Validate(ReadOnlySpan<byte> utf8, int maxDepth = MaxDepth)
    {
        // No depth limit for reading here (the reader's depth stack is one bit a level): the policy's own limit below
        // gives the clearer answer, and the body's size bounds the work.
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = int.MaxValue });
        // One set of seen keys per open object (null for arrays), so a duplicate is found where it stands.
        var keys = new Stack<HashSet<string>?>();
        MatrixError? refused = null;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (reader.CurrentDepth >= maxDepth)
                            refused ??= MatrixError.BadJson($"The JSON nests deeper than {maxDepth} levels");
                        keys.Push(reader.TokenType == JsonTokenType.StartObject && refused is null ? new HashSet<string>(StringComparer.Ordinal) : null);
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        keys.Pop();
                        break;
                    case JsonTokenType.PropertyName when refused is null:
                        var (name, invalidKey) = ReadString(ref reader, "key");
                        refused = invalidKey ?? (keys.Peek()!.Add(name!) ? null : MatrixError.BadJson($"The key '{name}' appears twice in one object"));
                        break;
                    case JsonTokenType.String when refused is null:
                        refused = ReadString(ref reader, "string").Error;
                        break;
                    case JsonTokenType.Number when refused is null:
                        refused = NumberProblem(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan)
                            is { } problem ? MatrixError.BadJson(problem) : null;
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            return MatrixError.NotJson($"Content not JSON: {e.Message}");
        }
        return refused;
    }

    /// <summary>
    /// Null when an in-memory value (built in code, or parsed by someone else) is one the policy accepts; else why not.
    /// Used on what reaches the Domain without passing <see cref="Parse(ReadOnlySpan{byte})"/>, e.g. bus commands.
    /// </summary>
    public static MatrixError? Check(JsonNode? node) => Check(node, 1);

    private static MatrixError? Check(JsonNode? node, int depth)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                if (depth > MaxDepth) return MatrixError.BadJson($"The JSON nests deeper than {MaxDepth} levels");
                foreach (var (key, member) in obj)
                    if ((StringProblem(key, "key") ?? Check(member, depth + 1)) is { } refused)
                        return refused;
                return null;
            case JsonArray array:
                if (depth > MaxDepth) return MatrixError.BadJson($"The JSON nests deeper than {MaxDepth} levels");
                foreach (var item in array)
                    if (Check(item, depth + 1) is { } refused)
                        return refused;
                return null;
            default:
                var value = (JsonValue)node;
                try
                {
                    return value.GetValueKind() switch
                    {
                        JsonValueKind.String => StringProblem(value.GetValue<string>(), "string"),
                        JsonValueKind.Number => NumberProblem(System.Text.Encoding.UTF8.GetBytes(value.ToJsonString())) is { } problem
                            ? MatrixError.BadJson(problem)
                            : null,
                        JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null => null,
                        var kind => MatrixError.BadJson($"A JSON value of kind {kind} is not allowed"),
                    };
                }
                catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
                {
                    return MatrixError.BadJson($"A string is not valid Unicode: {e.Message}");
                }
        }
    }

    private static (string? Value, MatrixError? Error) ReadString(ref Utf8JsonReader reader, string what)
    {
        string value;
        try
        {
            // GetString validates: invalid UTF-8 bytes and lone surrogate escapes throw here.
            value = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return (null, MatrixError.BadJson($"A {what} is not valid Unicode (a lone surrogate or invalid UTF-8)"));
        }
        return (value, StringProblem(value, what));
    }

    /// <summary>
    /// Null when <paramref name="text"/> is storable Unicode (no NUL, no lone surrogate); else why not. Also for text
    /// that reaches the engine outside JSON: path segments such as an event type, state key or transaction ID.
    /// </summary>
    public static MatrixError? StringProblem(string text, string what)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0') return MatrixError.BadJson($"A {what} holds NUL (\\u0000), which cannot be stored");
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(c)) return MatrixError.BadJson($"A {what} holds a lone surrogate and is not valid Unicode");
        }
        return null;
    }

    /// <summary>Null for a plain integer in Canonical JSON's range (<c>-?(0|[1-9][0-9]*)</c>); else why not.</summary>
    public static string? NumberProblem(ReadOnlySpan<byte> number)
    {
        var digits = number.Length > 0 && number[0] == '-' ? number[1..] : number;
        foreach (var b in digits)
            if (b is < (byte)'0' or > (byte)'9')
                return $"The number {System.Text.Encoding.ASCII.GetString(number)} is not an integer: " +
                       "Matrix JSON allows integers only, written without fraction or exponent";
        if (digits.Length > 16 || !long.TryParse(number, out var value) || value is < CanonicalJson.MinSafeInteger or > CanonicalJson.MaxSafeInteger)
            return $"The number {System.Text.Encoding.ASCII.GetString(number)} is outside the range [-(2**53)+1, (2**53)-1]";
        return null;
    }
}
