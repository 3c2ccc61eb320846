using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Matrix.Rooms.Host.Tests.Conformance.OpenApi;

/// <summary>
/// The pinned matrix-spec OpenAPI files (matrix-spec/README.md names the commit): finds the response schema of an
/// operation and validates a JSON answer against it. The validator covers the JSON-schema subset these files use:
/// <c>$ref</c> (across files), <c>allOf</c>, <c>oneOf</c> (read as "at least one": the files use it for alternatives that
/// overlap, e.g. "an object or a state event"), <c>type</c> (one or a list), <c>enum</c>, <c>pattern</c>, <c>properties</c>,
/// <c>required</c>, <c>additionalProperties</c>, <c>patternProperties</c>, <c>items</c>, <c>minProperties</c>.
/// </summary>
public sealed class OpenApiSpec
{
    private const string ClientServer = "data/api/client-server";
    private readonly string _root;
    private readonly Dictionary<string, JsonNode?> _files = new(StringComparer.Ordinal);
    /// <summary>(method, full path with placeholders as {}) → (file, operation).</summary>
    private readonly Dictionary<(string Method, string Path), (string File, JsonObject Operation)> _operations = new();

    public OpenApiSpec(string root)
    {
        _root = root;
        foreach (var path in Directory.GetFiles(Path.Combine(root, ClientServer), "*.yaml"))
        {
            var file = $"{ClientServer}/{Path.GetFileName(path)}";
            if (Load(file) is not JsonObject doc || doc["paths"] is not JsonObject paths) continue;
            var basePath = doc["servers"]?[0]?["variables"]?["basePath"]?["default"]?.GetValue<string>() ?? "";
            foreach (var (specPath, item) in paths)
                foreach (var (method, operation) in item!.AsObject())
                    if (operation is JsonObject op && op["responses"] is not null)
                        // Trimmed: the files disambiguate a path from another file's with a trailing space ("/events ").
                        _operations[(method.ToUpperInvariant(), Normalize(basePath + specPath.Trim()))] = (file, op);
        }
    }

    public static OpenApiSpec Pinned { get; } = new(Path.Combine(AppContext.BaseDirectory, "Conformance", "OpenApi", "matrix-spec"));

    /// <summary>A path with its placeholders' names dropped, so the Host's names and the spec's need not agree.</summary>
    public static string Normalize(string path) => Regex.Replace(path, "\\{[^}]*\\}", "{}");

    public bool HasOperation(string method, string path) => Find(method, path) is not null;

    /// <summary>The operation for a path: exactly, else one whose placeholder stands where the path has a literal
    /// (the Host maps <c>/profile/{userId}/displayname</c>, the spec <c>/profile/{userId}/{keyName}</c>).</summary>
    private (string File, JsonObject Operation)? Find(string method, string path)
    {
        var normalized = Normalize(path);
        if (_operations.TryGetValue((method, normalized), out var exact)) return exact;
        var segments = normalized.Split('/');
        foreach (var ((m, p), op) in _operations)
        {
            var candidate = p.Split('/');
            if (m == method && candidate.Length == segments.Length
                && candidate.Zip(segments).All(pair => pair.First == pair.Second || pair.First == "{}"))
                return op;
        }
        return null;
    }

    /// <summary>The statuses the spec lists for an operation.</summary>
    public IReadOnlyList<string> Statuses(string method, string path) =>
        Find(method, path) is { } o ? o.Operation["responses"]!.AsObject().Select(r => r.Key).ToList() : [];

    /// <summary>
    /// The problems with <paramref name="body"/> as the answer of an operation with a status; an empty list when it
    /// conforms. An operation or status the spec does not define is itself a problem.
    /// </summary>
    public List<string> Validate(string method, string route, int status, JsonNode? body)
    {
        var errors = new List<string>();
        if (Find(method, route) is not { } op)
        {
            errors.Add($"the spec defines no {method} {route}");
            return errors;
        }
        var (file, response) = Resolve(op.File, op.Operation["responses"]?[status.ToString(CultureInfo.InvariantCulture)]);
        // A status the operation does not list (404 for an unknown room on leave, say: the choices docs/api.md lists)
        // must still be the spec's standard error body.
        if (response is null && status >= 400)
            (file, response) = Resolve(file, JsonNode.Parse("""{"content":{"application/json":{"schema":{"$ref":"definitions/errors/error.yaml"}}}}"""));
        if (response is null)
        {
            errors.Add($"{method} {route} lists no {status} answer (it lists {string.Join(", ", Statuses(method, route))})");
            return errors;
        }
        var schema = response["content"]?["application/json"]?["schema"];
        if (schema is not null) ValidateNode(body, schema, file, "$", errors);
        return errors;
    }

    private JsonNode? Load(string file)
    {
        if (_files.TryGetValue(file, out var loaded)) return loaded;
        var stream = new YamlStream();
        using (var reader = File.OpenText(Path.Combine(_root, file))) stream.Load(reader);
        var node = stream.Documents.Count == 0 ? null : ToJson(stream.Documents[0].RootNode);
        _files[file] = node;
        return node;
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c =>
            KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? "", ToJson(c.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    /// <summary>YAML's core schema for plain scalars: booleans, null and numbers; everything quoted is a string.</summary>
    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not (YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any)) return JsonValue.Create(text);
        if (text is "true" or "True") return JsonValue.Create(true);
        if (text is "false" or "False") return JsonValue.Create(false);
        if (text is "" or "~" or "null" or "Null") return null;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d);
        return JsonValue.Create(text);
    }

    /// <summary>Follows <c>$ref</c>s (a file relative to <paramref name="file"/>, then a JSON pointer) to the node meant.</summary>
    private (string File, JsonObject? Node) Resolve(string file, JsonNode? node)
    {
        for (var hops = 0; node is JsonObject { } obj && obj["$ref"] is JsonValue reference && hops < 32; hops++)
        {
            var text = reference.GetValue<string>();
            var hash = text.IndexOf('#');
            var target = hash < 0 ? text : text[..hash];
            var pointer = hash < 0 ? "" : text[(hash + 1)..];
            if (target.Length > 0)
                file = Path.GetRelativePath(_root, Path.GetFullPath(Path.Combine(_root, Path.GetDirectoryName(file)!, target))).Replace('\\', '/');
            node = Load(file);
            foreach (var part in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
                node = node?[part.Replace("~1", "/").Replace("~0", "~")];
        }
        return (file, node as JsonObject);
    }

    private void ValidateNode(JsonNode? value, JsonNode schemaNode, string file, string at, List<string> errors)
    {
        if (schemaNode is not JsonObject schema) return;
        if (schema["$ref"] is not null)
        {
            var (target, resolved) = Resolve(file, schema);
            if (resolved is null) errors.Add($"{at}: unresolvable $ref {schema["$ref"]} in {file}");
            else ValidateNode(value, resolved, target, at, errors);
        }
        if (schema["allOf"] is JsonArray allOf)
            foreach (var part in allOf) ValidateNode(value, part!, file, at, errors);
        if (schema["oneOf"] is JsonArray oneOf)
        {
            var failures = new List<string>();
            var any = false;
            foreach (var part in oneOf)
            {
                var attempt = new List<string>();
                ValidateNode(value, part!, file, at, attempt);
                if (attempt.Count == 0) { any = true; break; }
                failures.AddRange(attempt);
            }
            if (!any) errors.Add($"{at}: matches no alternative of oneOf ({string.Join("; ", failures)})");
        }
        if (schema["type"] is { } type)
        {
            var allowed = type is JsonArray list ? list.Select(t => t!.GetValue<string>()).ToList() : [type.GetValue<string>()];
            if (!allowed.Any(t => IsType(value, t)))
            {
                errors.Add($"{at}: expected {string.Join(" or ", allowed)}, found {Describe(value)}");
                return;
            }
        }
        if (schema["enum"] is JsonArray values && !values.Any(v => JsonNode.DeepEquals(v, value)))
            errors.Add($"{at}: {Describe(value)} is not one of {values.ToJsonString()}");
        if (schema["pattern"] is JsonValue pattern && value is JsonValue s && s.GetValueKind() == JsonValueKind.String
            && !Regex.IsMatch(s.GetValue<string>(), pattern.GetValue<string>()))
            errors.Add($"{at}: \"{s}\" does not match {pattern}");
        if (value is JsonObject obj) ValidateObject(obj, schema, file, at, errors);
        if (value is JsonArray array && schema["items"] is { } items)
            for (var i = 0; i < array.Count; i++) ValidateNode(array[i], items, file, $"{at}[{i}]", errors);
    }

    private void ValidateObject(JsonObject obj, JsonObject schema, string file, string at, List<string> errors)
    {
        var properties = schema["properties"] as JsonObject;
        if (schema["required"] is JsonArray required)
            foreach (var name in required.Select(r => r!.GetValue<string>()))
                if (!obj.ContainsKey(name)) errors.Add($"{at}: required property '{name}' is missing");
        if (schema["minProperties"] is JsonValue min && obj.Count < min.GetValue<long>())
            errors.Add($"{at}: has {obj.Count} properties, fewer than {min}");
        var patterns = (schema["patternProperties"] as JsonObject)?.ToList() ?? [];
        foreach (var (name, child) in obj)
        {
            var covered = false;
            if (properties?[name] is { } propertySchema)
            {
                covered = true;
                ValidateNode(child, propertySchema, file, $"{at}.{name}", errors);
            }
            foreach (var (regex, patternSchema) in patterns.Where(p => Regex.IsMatch(name, p.Key)))
            {
                covered = true;
                ValidateNode(child, patternSchema!, file, $"{at}.{name}", errors);
            }
            if (covered) continue;
            switch (schema["additionalProperties"])
            {
                case JsonValue v when v.GetValueKind() == JsonValueKind.False:
                    errors.Add($"{at}: property '{name}' is not allowed");
                    break;
                case JsonObject additional:
                    ValidateNode(child, additional, file, $"{at}.{name}", errors);
                    break;
            }
        }
    }

    private static bool IsType(JsonNode? value, string type) => (type, value) switch
    {
        ("null", null) => true,
        (_, null) => false,
        ("object", JsonObject) => true,
        ("array", JsonArray) => true,
        ("string", JsonValue v) => v.GetValueKind() == JsonValueKind.String,
        ("boolean", JsonValue v) => v.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
        ("number", JsonValue v) => v.GetValueKind() == JsonValueKind.Number,
        ("integer", JsonValue v) => v.GetValueKind() == JsonValueKind.Number && decimal.TryParse(v.ToJsonString(), NumberStyles.Float,
            CultureInfo.InvariantCulture, out var d) && d == decimal.Truncate(d),
        _ => false,
    };

    private static string Describe(JsonNode? value) => value is null ? "null" : value.ToJsonString() is var t && t.Length > 80 ? t[..80] + "…" : value.ToJsonString();
}
