using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Microsoft.AspNetCore.Http.Features;
using Npgsql;

namespace Matrix.Rooms.Host.Infrastructure.Http;

/// <summary>
/// Every failure leaves as Matrix error JSON: <see cref="MatrixException"/> as its error, an oversized body as
/// <c>413 M_TOO_LARGE</c>, a database outage as <c>503 M_UNKNOWN</c> (the client may retry; nothing was acknowledged),
/// anything else as <c>500 M_UNKNOWN</c> — never an HTML page. Empty 404/405 responses become <c>M_UNRECOGNIZED</c>.
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
        catch (Exception e) when (Find<PostgresException>(e) is { SqlState: "22P05" or "22021" })
        {
            // Backstop behind the input policy: text PostgreSQL cannot hold (NUL, invalid encoding) that reached a query
            // some other way. The transaction rolled back, so nothing was stored.
            logger.LogWarning("Refused text the database cannot store for {Method} {Path}", context.Request.Method, context.Request.Path);
            await Write(context, MatrixError.InvalidParam("The request holds text that cannot be stored (NUL or invalid Unicode)"));
        }
        catch (Exception e) when (IsDatabaseUnavailable(e))
        {
            logger.LogWarning(e, "Database unavailable while handling {Method} {Path}", context.Request.Method, context.Request.Path);
            await Write(context, MatrixError.Unknown(503, "The database is unavailable; try again shortly"));
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

    private static T? Find<T>(Exception? e) where T : Exception => e switch
    {
        null => null,
        T match => match,
        AggregateException all => all.InnerExceptions.Select(Find<T>).FirstOrDefault(x => x is not null),
        _ => Find<T>(e.InnerException),
    };

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
