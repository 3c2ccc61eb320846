using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Microsoft.AspNetCore.Http.Features;
using Npgsql;

namespace Matrix.Rooms.Host.Infrastructure.Http;

/// <summary>
/// Every failure leaves as Matrix error JSON: <see cref="MatrixException"/> as its error, an oversized body as
/// <c>413 M_TOO_LARGE</c>, a database outage or a room too contended to write as <c>503 M_UNKNOWN</c> with
/// <c>retry_after_ms</c> (<see cref="WriteErrors"/> says whether the request may have been applied), anything else as
/// <c>500 M_UNKNOWN</c> — never an HTML page. Empty 404/405 responses become <c>M_UNRECOGNIZED</c>.
/// </summary>
public sealed class MatrixErrorMiddleware(RequestDelegate next, ILogger<MatrixErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            // The input gate for text outside the body: a path or query that is not storable Unicode (NUL, a lone
            // surrogate) is refused before any endpoint sees it.
            if ((JsonInputPolicy.StringProblem(context.Request.Path.Value ?? "", "request path") ??
                 JsonInputPolicy.StringProblem(Uri.UnescapeDataString(context.Request.QueryString.Value ?? ""), "query string")) is { } badText)
            {
                await Write(context, MatrixError.InvalidParam(badText.Error));
                return;
            }
            await next(context);
            if (context.Response is { HasStarted: false, StatusCode: 404 or 405 } && context.Response.ContentLength is null or 0)
                await Write(context, MatrixError.Unrecognized("Unrecognized request") with { Status = context.Response.StatusCode });
        }
        catch (MatrixException e)
        {
            await Write(context, e.Error);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Write(context, MatrixError.TooLarge("The request body is too large"));
        }
        catch (BadHttpRequestException e)
        {
            await Write(context, MatrixError.BadJson(e.Message) with { Status = e.StatusCode });
        }
        catch (Exception e) when (e.Find<PostgresException>() is { SqlState: "22P05" or "22021" })
        {
            // Backstop behind the input policy: text PostgreSQL cannot hold (NUL, invalid encoding) that reached a query
            // some other way. The transaction rolled back, so nothing was stored.
            logger.LogWarning("Refused text the database cannot store for {Method} {Path}", context.Request.Method, context.Request.Path);
            await Write(context, MatrixError.InvalidParam("The request holds text that cannot be stored (NUL or invalid Unicode)"));
        }
        catch (Exception e) when (IsDatabaseUnavailable(e))
        {
            logger.LogWarning(e, "Database unavailable while handling {Method} {Path}", context.Request.Method, context.Request.Path);
            // A write whose connection died may have died after COMMIT reached PostgreSQL: only a read is known to have changed nothing.
            var isRead = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
            await Write(context, isRead ? WriteErrors.DatabaseUnavailable() : WriteErrors.OutcomeUnknown());
        }
        catch (Exception e) when (e.Find<JasperFx.ConcurrencyException>() is not null)
        {
            // Wolverine's retries of a version conflict ran out (HostRegistration); the losing attempts appended nothing.
            logger.LogWarning(e, "Concurrency retries exhausted for {Method} {Path}", context.Request.Method, context.Request.Path);
            await Write(context, WriteErrors.Contended());
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e)
        {
            logger.LogError(e, "Unhandled error for {Method} {Path}", context.Request.Method, context.Request.Path);
            await Write(context, MatrixError.Unknown(500, "Internal server error"));
        }
    }

    private static bool IsDatabaseUnavailable(Exception e) => e switch
    {
        NpgsqlException { IsTransient: true } => true,
        NpgsqlException { InnerException: System.Net.Sockets.SocketException } => true,
        PostgresException { SqlState: "57P01" or "57P02" or "57P03" } => true,
        _ => e.InnerException is { } inner && IsDatabaseUnavailable(inner),
    };

    private static async Task Write(HttpContext context, MatrixError error)
    {
        if (context.Response.HasStarted) return;
        context.Response.Clear();
        MatrixRateLimits.AddRetryAfter(context.Response, error);
        context.Response.StatusCode = error.Status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(error.ToJson().ToJsonString(MatrixJson.Options));
    }
}
