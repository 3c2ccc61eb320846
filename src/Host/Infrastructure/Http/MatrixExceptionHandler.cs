using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Matrix.Rooms.Host.Infrastructure.Http;

/// <summary>
/// The Matrix answers for exceptions (ASP.NET Core's exception handler middleware calls it): <see cref="MatrixException"/>
/// as its error, an oversized body as <c>413 M_TOO_LARGE</c>, another bad request as <c>M_BAD_JSON</c>, text PostgreSQL
/// cannot store as <c>400 M_INVALID_PARAM</c>, a database outage or a room too contended to write as <c>503 M_UNKNOWN</c>
/// with <c>retry_after_ms</c> (<see cref="WriteErrors"/> says whether the request may have been applied). Anything
/// else is not handled here: the middleware logs it and <see cref="MatrixErrorHandling"/> answers <c>500 M_UNKNOWN</c>.
/// </summary>
public sealed class MatrixExceptionHandler(ILogger<MatrixExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (ErrorFor(http.Request, exception) is not { } error) return false;
        await MatrixHttp.WriteErrorAsync(http, error);
        return true;
    }

    private MatrixError? ErrorFor(HttpRequest request, Exception exception)
    {
        switch (exception)
        {
            case MatrixException e:
                return e.Error;
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                return MatrixError.TooLarge("The request body is too large");
            case BadHttpRequestException e:
                return MatrixError.BadJson(e.Message) with { Status = e.StatusCode };
        }
        if (exception.Find<PostgresException>() is { SqlState: "22P05" or "22021" })
        {
            // Backstop behind the input policy: text PostgreSQL cannot hold (NUL, invalid encoding) that reached a query
            // some other way. The transaction rolled back, so nothing was stored.
            logger.LogWarning("Refused text the database cannot store for {Method} {Path}", request.Method, request.Path);
            return MatrixError.InvalidParam("The request holds text that cannot be stored (NUL or invalid Unicode)");
        }
        if (IsDatabaseUnavailable(exception))
        {
            logger.LogWarning(exception, "Database unavailable while handling {Method} {Path}", request.Method, request.Path);
            // A write whose connection died may have died after COMMIT reached PostgreSQL: only a read is known to have changed nothing.
            return HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)
                ? WriteErrors.DatabaseUnavailable()
                : WriteErrors.OutcomeUnknown();
        }
        if (exception.Find<JasperFx.ConcurrencyException>() is not null)
        {
            // Wolverine's retries of a version conflict ran out (HostRegistration); the losing attempts appended nothing.
            logger.LogWarning(exception, "Concurrency retries exhausted for {Method} {Path}", request.Method, request.Path);
            return WriteErrors.Contended();
        }
        return null;
    }

    private static bool IsDatabaseUnavailable(Exception e) => e switch
    {
        NpgsqlException { IsTransient: true } => true,
        NpgsqlException { InnerException: System.Net.Sockets.SocketException } => true,
        PostgresException { SqlState: "57P01" or "57P02" or "57P03" } => true,
        _ => e.InnerException is { } inner && IsDatabaseUnavailable(inner),
    };
}

/// <summary>
/// The error half of the pipeline: ASP.NET Core's exception handler with <see cref="MatrixExceptionHandler"/>, status
/// code pages for the empty 404/405 that routing answers, and the input gate for text outside the body.
/// </summary>
public static class MatrixErrorHandling
{
    public static IServiceCollection AddMatrixErrorHandling(this IServiceCollection services) =>
        services.AddExceptionHandler<MatrixExceptionHandler>();

    public static WebApplication UseMatrixErrorHandling(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // Reached only for what MatrixExceptionHandler does not know; the middleware has logged it. Never an HTML page.
            ExceptionHandler = http => MatrixHttp.WriteErrorAsync(http, MatrixError.Unknown(500, "Internal server error")).AsTask(),
            // A MatrixException may well be a 404 (M_NOT_FOUND); that is an answer, not a misconfigured handler path.
            AllowStatusCode404Response = true,
        });
        // Routing answers an unmatched method with an empty 405 (and an endpoint may set a bare 404): say it in Matrix
        // terms. Other empty statuses are left as they are.
        app.UseStatusCodePages(context => context.HttpContext.Response.StatusCode is 404 or 405
            ? MatrixHttp.WriteErrorAsync(context.HttpContext,
                MatrixError.Unrecognized("Unrecognized request") with { Status = context.HttpContext.Response.StatusCode }).AsTask()
            : Task.CompletedTask);
        // The input gate for text outside the body: a path or query that is not storable Unicode (NUL, a lone
        // surrogate) is refused before any endpoint sees it. No framework part checks request text this way.
        app.Use(async (http, next) =>
        {
            if ((JsonInputPolicy.StringProblem(http.Request.Path.Value ?? "", "request path") ??
                 JsonInputPolicy.StringProblem(Uri.UnescapeDataString(http.Request.QueryString.Value ?? ""), "query string")) is { } badText)
            {
                await MatrixHttp.WriteErrorAsync(http, MatrixError.InvalidParam(badText.Error));
                return;
            }
            await next(http);
        });
        return app;
    }
}
