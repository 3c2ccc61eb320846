using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.IdentityServer.Http;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Matrix.Rooms.IdentityServer.Standalone;

/// <summary>
/// Failures as Matrix error JSON when the identity server runs on its own (embedded, the Host's error handling answers
/// them the same way): a <see cref="MatrixException"/> as its error, an oversized body as <c>413 M_TOO_LARGE</c>, an
/// unreachable database as <c>503 M_UNKNOWN</c> with <c>retry_after_ms</c>, anything else as <c>500 M_UNKNOWN</c>.
/// </summary>
internal sealed class IdentityServerExceptionHandler(ILogger<IdentityServerExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (exception is OperationCanceledException && http.RequestAborted.IsCancellationRequested) return true;
        var error = exception switch
        {
            MatrixException e => e.Error,
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => MatrixError.TooLarge("The request body is too large"),
            BadHttpRequestException e => MatrixError.BadJson(e.Message) with { Status = e.StatusCode },
            _ when Find<NpgsqlException>(exception) is not null => Unavailable(),
            _ => null,
        };
        if (error is null)
        {
            logger.LogError(exception, "Unhandled error for {Method} {Path}", http.Request.Method, http.Request.Path);
            error = MatrixError.Unknown(500, "Internal server error");
        }
        else if (error.Status >= 500)
            logger.LogWarning(exception, "Database unavailable while handling {Method} {Path}", http.Request.Method, http.Request.Path);
        if (http.Response.HasStarted) return true;
        http.Response.Clear();
        await IdentityHttp.WriteAsync(http, error);
        return true;
    }

    private static MatrixError Unavailable() => MatrixError.Unknown(503, "The identity server's database is unavailable; try again shortly") with
    {
        Extra = new Dictionary<string, System.Text.Json.Nodes.JsonNode?> { ["retry_after_ms"] = 2000L },
    };

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
            if (e is T found) return found;
        return null;
    }
}

/// <summary>The input gate for text outside the body: a path or query that is not storable Unicode is refused first.</summary>
internal sealed class RequestTextGate(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext http)
    {
        var problem = JsonInputPolicy.StringProblem(http.Request.Path.Value ?? "", "request path") ??
                      JsonInputPolicy.StringProblem(Uri.UnescapeDataString(http.Request.QueryString.Value ?? ""), "query string");
        return problem is null ? next(http) : IdentityHttp.WriteAsync(http, MatrixError.InvalidParam(problem.Error));
    }
}
