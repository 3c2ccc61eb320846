using System.Text.Json;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Host.Infrastructure.Http;

/// <summary>Matrix JSON in and out: results, errors, and reading a request body with the spec's error codes.</summary>
public static class MatrixHttp
{
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
}
