using System.Diagnostics;
using Marten;
using Marten.Services;
using Npgsql;

using Microsoft.Extensions.Logging;

namespace Matrix.Rooms.Web;

/// <summary>
/// Marten's own logger writes every command's parameter values — at Debug on success and at Error on failure — and
/// those values are client secrets, validation tokens and whole documents (a validation session holds its
/// <c>client_secret</c> and token). This one logs what Marten's does, at the same levels and in the same category, with
/// parameter names and types but never their values.
/// </summary>
public sealed class ParameterFreeMartenLogger(ILogger logger) : IMartenLogger, IMartenSessionLogger
{
    private long _started;

    public IMartenSessionLogger StartSession(IQuerySession session) => this;

    /// <summary>One line per schema change at Information (what changed), the SQL itself at Debug.</summary>
    public void SchemaChange(string sql)
    {
        if (logger.IsEnabled(LogLevel.Debug)) logger.LogDebug("Executed schema update SQL:\n{SQL}", sql);
        else logger.LogInformation("Executed a schema update: {Statement}", FirstLine(sql));
    }

    private static string FirstLine(string sql)
    {
        var line = sql.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        return line.Length <= 120 ? line : line[..120] + "…";
    }

    public void OnBeforeExecute(NpgsqlCommand command) => _started = Stopwatch.GetTimestamp();

    public void OnBeforeExecute(NpgsqlBatch batch) => _started = Stopwatch.GetTimestamp();

    public void LogSuccess(NpgsqlCommand command)
    {
        if (logger.IsEnabled(LogLevel.Debug))
            logger.LogDebug("Marten executed in {Milliseconds} ms, SQL: {SQL}\n{PARAMETERS}", Elapsed(), command.CommandText, Describe(command.Parameters));
    }

    public void LogSuccess(NpgsqlBatch batch)
    {
        if (!logger.IsEnabled(LogLevel.Debug)) return;
        foreach (var command in batch.BatchCommands)
            logger.LogDebug("Marten executed in {Milliseconds} ms, SQL: {SQL}\n{PARAMETERS}", Elapsed(), command.CommandText, Describe(command.Parameters));
    }

    public void LogFailure(NpgsqlCommand command, Exception ex) =>
        logger.LogError(ex, "Marten encountered an exception executing \n{SQL}\n{PARAMETERS}", command.CommandText, Describe(command.Parameters));

    public void LogFailure(NpgsqlBatch batch, Exception ex)
    {
        foreach (var command in batch.BatchCommands)
            logger.LogError(ex, "Marten encountered an exception executing \n{SQL}\n{PARAMETERS}", command.CommandText, Describe(command.Parameters));
    }

    public void LogFailure(Exception ex, string message) => logger.LogError(ex, "Marten encountered an exception with message: {MESSAGE}", message);

    public void RecordSavedChanges(IDocumentSession session, IChangeSet commit)
    {
        if (logger.IsEnabled(LogLevel.Debug))
            logger.LogDebug("Persisted {UpdateCount} updates in {ElapsedMilliseconds} ms, {InsertedCount} inserts, and {DeletedCount} deletions",
                commit.Updated.Count(), Elapsed(), commit.Inserted.Count(), commit.Deleted.Count());
    }

    private double Elapsed() => _started == 0 ? 0 : Stopwatch.GetElapsedTime(_started).TotalMilliseconds;

    private static string Describe(System.Data.Common.DbParameterCollection parameters) =>
        string.Join(Environment.NewLine, parameters.OfType<NpgsqlParameter>().Select(p => $"  {p.ParameterName}: <{p.NpgsqlDbType}>"));
}
