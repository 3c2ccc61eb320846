using Matrix.Rooms.Postgres;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Matrix.Rooms.Bench.Scenarios;

/// <summary>
/// Where the scenarios make their databases: the embedded PostgreSQL cluster under <c>.data/postgres-bench</c> (started
/// or attached to), or, when <c>MATRIX_ROOMS_BENCH_POSTGRES</c> holds a connection string with the right to create
/// databases, that server.
/// </summary>
public sealed class BenchCluster : IDisposable
{
    public const string ExternalVariable = "MATRIX_ROOMS_BENCH_POSTGRES";
    private readonly EmbeddedPostgres? _embedded;
    private readonly string? _external;

    private BenchCluster(EmbeddedPostgres? embedded, string? external) => (_embedded, _external) = (embedded, external);

    /// <param name="statements">A cluster of its own (<c>.data/postgres-bench-profile</c>) with <c>pg_stat_statements</c>
    /// preloaded, for the <c>profile</c> scenario; the other scenarios run without the extension's overhead.</param>
    public static BenchCluster StartOrAttach(bool statements = false)
    {
        var external = Environment.GetEnvironmentVariable(ExternalVariable);
        if (!string.IsNullOrWhiteSpace(external)) return new BenchCluster(null, external);
        var settings = new Dictionary<string, string> { ["max_connections"] = "200" };
        if (statements)
        {
            settings["shared_preload_libraries"] = "pg_stat_statements";
            settings["pg_stat_statements.track_utility"] = "on";
        }
        return new BenchCluster(EmbeddedPostgres.StartOrAttach(new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(BenchHost.RepositoryRoot(), ".data", statements ? "postgres-bench-profile" : "postgres-bench"),
            ServerSettings = settings,
        }, NullLogger.Instance), null);
    }

    /// <summary>"embedded (…)" or "configured (host:port)", for the report.</summary>
    public string Description => _embedded is not null
        ? $"embedded cluster {_embedded.DataDirectory}"
        : $"configured server {new NpgsqlConnectionStringBuilder(_external).Host}:{new NpgsqlConnectionStringBuilder(_external).Port} ({ExternalVariable})";

    public string ConnectionString(string database) => _embedded is not null
        ? _embedded.ConnectionString(database)
        : new NpgsqlConnectionStringBuilder(_external) { Database = database }.ConnectionString;

    public string CreateDatabase(string database)
    {
        if (_embedded is not null) return _embedded.CreateDatabase(database);
        using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        connection.Open();
        using var create = new NpgsqlCommand($"create database \"{database.Replace("\"", "\"\"")}\"", connection);
        create.ExecuteNonQuery();
        return ConnectionString(database);
    }

    public void DropDatabase(string database)
    {
        if (_embedded is not null)
        {
            _embedded.DropDatabase(database);
            return;
        }
        using (var stale = new NpgsqlConnection(ConnectionString(database))) NpgsqlConnection.ClearPool(stale);
        using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        connection.Open();
        using var drop = new NpgsqlCommand($"drop database if exists \"{database.Replace("\"", "\"\"")}\" with (force)", connection);
        drop.ExecuteNonQuery();
    }

    /// <summary>Stops the embedded cluster if this process started it; an attached or configured server is left running.</summary>
    public void Dispose() => _embedded?.Dispose();
}
