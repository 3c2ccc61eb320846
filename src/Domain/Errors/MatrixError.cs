using System.Text.Json.Nodes;

namespace Matrix.Rooms.Domain.Errors;

/// <summary>
/// A Matrix error as the client-server API returns it: an HTTP status, an <c>errcode</c> and a human-readable
/// <c>error</c> (spec "API standards" → "Standard error response"). Extra fields (e.g. <c>retry_after_ms</c>) ride
/// along in <see cref="Extra"/>.
/// </summary>
public sealed record MatrixError(int Status, string ErrCode, string Error)
{
    public IReadOnlyDictionary<string, JsonNode?>? Extra { get; init; }

    public JsonObject ToJson()
    {
        var json = new JsonObject { ["errcode"] = ErrCode, ["error"] = Error };
        if (Extra is not null)
            foreach (var (key, value) in Extra)
                json[key] = value?.DeepClone();
        return json;
    }

    public override string ToString() => $"{Status} {ErrCode}: {Error}";

    public static MatrixError Forbidden(string error) => new(403, "M_FORBIDDEN", error);
    public static MatrixError NotFound(string error) => new(404, "M_NOT_FOUND", error);
    public static MatrixError Unrecognized(string error) => new(404, "M_UNRECOGNIZED", error);
    public static MatrixError NotJson(string error) => new(400, "M_NOT_JSON", error);
    public static MatrixError BadJson(string error) => new(400, "M_BAD_JSON", error);
    public static MatrixError MissingParam(string param) => new(400, "M_MISSING_PARAM", $"Missing parameter: {param}");
    public static MatrixError InvalidParam(string error) => new(400, "M_INVALID_PARAM", error);
    public static MatrixError BadAlias(string error) => new(400, "M_BAD_ALIAS", error);
    public static MatrixError UserInUse(string error) => new(400, "M_USER_IN_USE", error);
    public static MatrixError InvalidUsername(string error) => new(400, "M_INVALID_USERNAME", error);
    public static MatrixError WeakPassword(string error) => new(400, "M_WEAK_PASSWORD", error);
    public static MatrixError MissingToken() => new(401, "M_MISSING_TOKEN", "Missing access token");
    /// <summary>Spec "Soft logout": <c>soft_logout: false</c> (also the default) says the session is gone and the client must log in again.</summary>
    public static MatrixError UnknownToken() => new(401, "M_UNKNOWN_TOKEN", "Unrecognised access token")
    {
        Extra = new Dictionary<string, JsonNode?> { ["soft_logout"] = false },
    };
    public static MatrixError GuestAccessForbidden(string error) => new(403, "M_GUEST_ACCESS_FORBIDDEN", error);
    public static MatrixError ServerNotTrusted(string error) => new(403, "M_SERVER_NOT_TRUSTED", error);
    public static MatrixError UnsupportedRoomVersion(string error) => new(400, "M_UNSUPPORTED_ROOM_VERSION", error);
    public static MatrixError TooLarge(string error) => new(413, "M_TOO_LARGE", error);
    public static MatrixError Unknown(int status, string error) => new(status, "M_UNKNOWN", error);

    public static MatrixError LimitExceeded(long retryAfterMs) =>
        new(429, "M_LIMIT_EXCEEDED", "Too many requests")
        {
            Extra = new Dictionary<string, JsonNode?> { ["retry_after_ms"] = retryAfterMs },
        };
}

/// <summary>Thrown across layers that cannot return a <see cref="MatrixError"/> (e.g. deep in an endpoint).</summary>
public sealed class MatrixException(MatrixError error) : Exception(error.ToString())
{
    public MatrixError Error { get; } = error;
}
