using System.Diagnostics;
using JasperFx;
using Marten;
using Marten.Services;
using NodaTime;
using NodaTime.Serialization.SystemTextJson;
using Npgsql;
using Weasel.Core;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The identity server's own Marten store (<c>AddMartenStore&lt;IIdentityStore&gt;</c>): its documents in a schema of
/// their own (<see cref="IdentityServerOptions.Schema"/>, default <c>identity</c>). Embedded it shares the Host's
/// database but nothing else; the homeserver's store does not know these documents, and this store knows none of the
/// homeserver's.
/// </summary>
public interface IIdentityStore : IDocumentStore;

internal static class IdentityStore
{
    public static StoreOptions Options(string connectionString, IdentityServerOptions settings, ILogger logger)
    {
        var options = new StoreOptions();
        options.Connection(connectionString);
        options.DatabaseSchemaName = settings.Schema;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase,
            configure: json => json.ConfigureForNodaTime(DateTimeZoneProviders.Tzdb));
        options.Schema.For<IdentityValidationSession>().Index(x => x.Address);
        options.Schema.For<IdentityAssociation>().Index(x => x.LookupHash);
        options.Schema.For<IdentityStoredInvite>().Index(x => x.Address).Index(x => x.EphemeralPublicKey);
        options.Schema.For<IdentityAccessToken>();
        options.Logger(new ParameterFreeLogger(logger));
        return options;
    }

    /// <summary>
    /// Marten's own logger writes every command's parameter values, and here those are client secrets, validation
    /// tokens and token hashes. This one logs the same events at the same levels, with parameter names and types only.
    /// </summary>
    private sealed class ParameterFreeLogger(ILogger logger) : IMartenLogger, IMartenSessionLogger
    {
        private long _started;

        public IMartenSessionLogger StartSession(IQuerySession session) => this;

        public void SchemaChange(string sql) => logger.LogInformation("Executed schema update SQL:\n{SQL}", sql);

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
}
