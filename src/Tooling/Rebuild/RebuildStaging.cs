using Marten;
using Matrix.Rooms.Projections;
using Matrix.Rooms.Tooling.Replay;
using Npgsql;
using Weasel.Core;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Matrix.Rooms.Tooling.Rebuild;

/// <summary>
/// Where a rebuild builds its documents: tables of their own, beside the serving ones, switched in at the end.
/// <list type="bullet">
/// <item>One rebuild per database at a time (a session advisory lock, held by this object's connection).</item>
/// <item>Staging tables are created by Marten itself: a second store (<see cref="Store"/>) with the engine's model and
/// the same projection versions, whose <c>DatabaseSchemaName</c> is the staging schema <c>&lt;schema&gt;_rebuild</c>,
/// makes each table with <c>EnsureStorageExistsAsync</c>: same columns, same indexes, same names. The rebuild writes
/// into them through that store's public API (<see cref="Replay.StoreDocumentWriter"/>).</item>
/// <item><see cref="SwitchAsync"/> takes the serving tables (bounded by a lock timeout, a few attempts), lets the caller
/// apply the last events and mark progression in the same transaction, then moves the serving tables out (to
/// <c>&lt;schema&gt;_rebuild_retired</c>) and the staging tables in: readers and writers wait for that transaction
/// only, and see the old tables or the new ones, never a mix. The retired tables are dropped after the commit.</item>
/// <item>Disposing drops whatever was not switched in: a rebuild that fails or is refused leaves the serving tables as
/// they were. A rebuild killed outright leaves the staging schema behind; the next one drops it first.</item>
/// </list>
/// The only statements this issues on the serving tables are <c>LOCK TABLE</c> and <c>ALTER TABLE … SET SCHEMA</c> (Marten
/// has no API that swaps two tables in one transaction): no row of a serving table, and none of Marten's own
/// bookkeeping tables, is written here.
/// </summary>
public sealed class RebuildStaging : IAsyncDisposable
{
    /// <summary>Arbitrary, fixed: the key of the advisory lock that keeps two rebuilds of one database apart.</summary>
    public const long RebuildLockKey = 0x4D52_5265_6275_696C; // "MRRebuil"

    private readonly IDocumentStore _serving;
    private readonly StoreOptions _options;
    private DocumentStore? _store;
    private readonly NpgsqlConnection _connection;
    private readonly ILogger _logger;
    private readonly Dictionary<Type, (DbObjectName Serving, DbObjectName Staged)> _tables = new();

    private RebuildStaging(IDocumentStore serving, StoreOptions options, NpgsqlConnection connection, string schema, TimeSpan lockTimeout, ILogger logger)
    {
        _serving = serving;
        _options = options;
        _connection = connection;
        _logger = logger;
        Schema = $"{schema}_rebuild";
        RetiredSchema = $"{schema}_rebuild_retired";
        LockTimeout = lockTimeout;
    }

    public string Schema { get; }

    /// <summary>The staging store: the engine's model in <see cref="Schema"/>, on the serving store's data source.</summary>
    public IDocumentStore Store => _store ??= StagingStoreFor(_serving, Schema);

    /// <summary>
    /// A store with the engine's model (<c>AddMatrixRoomsModel</c>) and the serving store's projection versions (so the same
    /// table names), in <paramref name="schema"/>, sharing the serving store's data source.
    /// </summary>
    public static DocumentStore StagingStoreFor(IDocumentStore serving, string schema) =>
        StoreFor(serving, ((PostgresqlDatabase)serving.Storage.Database).DataSource, schema);

    /// <summary>A store with the engine's model and the serving store's projection versions, in <paramref name="schema"/>, on
    /// <paramref name="dataSource"/> (the staging store; one shard's database for the tooling, Commands/ToolingShards).</summary>
    public static DocumentStore StoreFor(IDocumentStore serving, Npgsql.NpgsqlDataSource dataSource, string schema, Action<StoreOptions>? configure = null)
    {
        var versions = ProjectionCatalog.All(serving).ToDictionary(p => p.Name, p => p.Version, StringComparer.Ordinal);
        return DocumentStore.For(options =>
        {
            options.Connection(dataSource);
            options.AddMatrixRoomsModel(schema);
            options.Events.DatabaseSchemaName = ((StoreOptions)serving.Options).Events.DatabaseSchemaName;
            foreach (var projection in options.Projections.All.OfType<JasperFx.Events.Projections.ProjectionBase>())
                if (versions.TryGetValue(projection.Name, out var version)) projection.Version = version;
            options.UseVersionedProjectionTables();
            configure?.Invoke(options);
        });
    }
    public string RetiredSchema { get; }

    /// <summary>How long one attempt at the switch (or a drop of the rebuild's own schemas) waits for a table lock.</summary>
    public TimeSpan LockTimeout { get; }

    /// <summary>Attempts at the switch before giving up (nothing switched).</summary>
    public const int SwitchAttempts = 3;

    /// <summary>True once the staging tables are the serving ones.</summary>
    public bool Switched { get; private set; }

    /// <summary>How long the switch held the serving tables (from taking them to the commit): what readers and writers waited at most.</summary>
    public TimeSpan HeldFor { get; private set; }

    /// <summary>The staging table of each staged type (schema-qualified), where the rebuild writes.</summary>
    public IReadOnlyDictionary<Type, string> Tables => _tables.ToDictionary(t => t.Key, t => t.Value.Staged.QualifiedName);

    public static async Task<RebuildStaging> OpenAsync(IDocumentStore store, ILogger logger, TimeSpan lockTimeout, CancellationToken ct)
    {
        var options = (StoreOptions)store.Options;
        var connection = store.Storage.Database.CreateConnection();
        try
        {
            await connection.OpenAsync(ct);
            var staging = new RebuildStaging(store, options, connection, options.DatabaseSchemaName, lockTimeout, logger);
            if (!await staging.ScalarAsync<bool>($"select pg_try_advisory_lock({RebuildLockKey})", ct))
                throw new RebuildFailedException("Another rebuild is running on this database; nothing was changed", null);
            // Left by a rebuild that was killed: never switched in, so nothing serves from it.
            await staging.ExecuteAsync($"drop schema if exists {staging.Schema} cascade; drop schema if exists {staging.RetiredSchema} cascade; " +
                                       $"create schema {staging.Schema}", ct);
            return staging;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Creates the staging table of <paramref name="type"/>: Marten's staging store creates it as it would create the
    /// serving one (<c>EnsureStorageExistsAsync</c>). Constraint and index names are not schema-qualified, so they come
    /// out the same and stay so when the table is moved in.
    /// </summary>
    public async Task AddAsync(Type type, CancellationToken ct)
    {
        var serving = ((IReadOnlyStoreOptions)_options).FindOrResolveDocumentType(type).TableName;
        if (_tables.Values.Any(t => t.Serving.Name == serving.Name))
            throw new InvalidOperationException($"Two document types are stored in tables named {serving.Name}; the rebuild cannot stage both");
        var staged = ((IReadOnlyStoreOptions)Store.Options).FindOrResolveDocumentType(type).TableName;
        if (staged.Name != serving.Name || staged.Schema != Schema)
            throw new InvalidOperationException(
                $"The staging store maps {type.Name} to {staged.QualifiedName}, not {Schema}.{serving.Name}: its document mapping differs from the serving store's");
        await Store.Storage.Database.EnsureStorageExistsAsync(type, ct);
        _tables[type] = (serving, staged);
    }

    /// <summary>Drops a staging table again (its projection is rebuilt another way); its serving table stays as it is.</summary>
    public async Task RemoveAsync(Type type, CancellationToken ct)
    {
        if (!_tables.Remove(type, out var table)) return;
        await ExecuteAsync($"drop table if exists {table.Staged.QualifiedName}", ct);
    }

    /// <summary>
    /// Switches the staging tables in, in one transaction: locks the serving tables (readers and writers wait from here),
    /// runs <paramref name="whileLocked"/> (the last events, the progression rows) on this transaction, then swaps the
    /// tables and commits. A lock that cannot be had within <see cref="LockTimeout"/>, or a deadlock with a writer, rolls
    /// back and tries again, up to <see cref="SwitchAttempts"/> times; then it fails with nothing switched.
    /// </summary>
    public async Task SwitchAsync(Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task> whileLocked, CancellationToken ct)
    {
        var serving = string.Join(", ", _tables.Values.Select(t => t.Serving.QualifiedName));
        for (var attempt = 1; ; attempt++)
        {
            await using var transaction = await _connection.BeginTransactionAsync(ct);
            try
            {
                await ExecuteAsync($"set local lock_timeout = {(int)LockTimeout.TotalMilliseconds}; " +
                                   $"lock table {serving} in access exclusive mode", ct, transaction);
                var held = System.Diagnostics.Stopwatch.StartNew();
                await whileLocked(_connection, transaction, ct);
                var moves = new List<string> { $"create schema if not exists {RetiredSchema}" };
                foreach (var (servingTable, staged) in _tables.Values)
                {
                    moves.Add($"alter table {servingTable.QualifiedName} set schema {RetiredSchema}");
                    moves.Add($"alter table {staged.QualifiedName} set schema {servingTable.Schema}");
                }
                await ExecuteAsync(string.Join(";\n", moves), ct, transaction);
                await transaction.CommitAsync(ct);
                HeldFor = held.Elapsed;
                Switched = true;
                break;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.DeadlockDetected)
            {
                await transaction.RollbackAsync(CancellationToken.None);
                if (attempt >= SwitchAttempts)
                    throw new RebuildFailedException(
                        $"Could not take the serving tables for the switch in {SwitchAttempts} attempts of {LockTimeout.TotalSeconds:N0} s " +
                        $"({e.MessageText}): a long transaction holds them. Nothing was switched: the read models are as they were", null, e);
                _logger.LogWarning("Switch attempt {Attempt} could not take the serving tables ({Reason}); trying again", attempt, e.MessageText);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct);
            }
        }
        _tables.Clear();
        // The old tables: nothing refers to them any more (statements waiting for the lock look the name up again).
        await DropQuietlyAsync(RetiredSchema);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_store is not null) await _store.DisposeAsync();
            await DropQuietlyAsync(Schema);
            await DropQuietlyAsync(RetiredSchema);
        }
        finally
        {
            await _connection.DisposeAsync(); // ends the session: releases the advisory lock
        }
    }

    private async Task DropQuietlyAsync(string schema)
    {
        try
        {
            if (_connection.State != System.Data.ConnectionState.Open) return;
            await ExecuteAsync($"set lock_timeout = {(int)LockTimeout.TotalMilliseconds}; drop schema if exists {schema} cascade", CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            _logger.LogWarning("Could not drop the rebuild's schema {Schema} ({Reason}); the next rebuild drops it", schema, e.Message);
        }
    }

    private async Task ExecuteAsync(string sql, CancellationToken ct, NpgsqlTransaction? transaction = null)
    {
        await using var cmd = new NpgsqlCommand(sql, _connection, transaction);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private async Task<T> ScalarAsync<T>(string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, _connection);
        return (T)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
