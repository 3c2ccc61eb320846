using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.IdentityServer.Http;

/// <summary>
/// Matrix JSON out for the identity server's endpoints: the same answers as the Host's (errors as <c>errcode</c> +
/// <c>error</c>); bodies are read with the shared <see cref="Matrix.Rooms.Web.MatrixRequestBody"/>.
/// </summary>
internal static class IdentityHttp
{
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
}
