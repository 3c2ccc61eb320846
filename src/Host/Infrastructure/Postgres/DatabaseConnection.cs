using System.Data.Common;
using Matrix.Rooms.Postgres;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Matrix.Rooms.Host.Infrastructure.Postgres;

/// <summary>
/// The connection string the store uses: <c>ConnectionStrings:Marten</c> when configured (it always wins), else the
/// embedded cluster, started on first use so that commands which never touch the database (e.g. <c>help</c>) start none.
/// Disposing stops the embedded cluster if this process started it.
/// </summary>
public sealed class DatabaseConnection : IDisposable
{
    private readonly Lazy<(string ConnectionString, EmbeddedPostgres? Server)> _resolved;
    private readonly Lazy<EmbeddedPostgresOptions?> _embedded;

    public DatabaseConnection(IConfiguration configuration, IOptions<MatrixRoomsOptions> options, ILogger<EmbeddedPostgres> logger)
    {
        _embedded = new Lazy<EmbeddedPostgresOptions?>(() => !string.IsNullOrWhiteSpace(configuration.GetConnectionString("Marten"))
            ? null
            : new EmbeddedPostgresOptions
            {
                DataDirectory = Path.Combine(options.Value.ResolveDataDirectory(), "postgres"),
                ServerSettings = options.Value.EmbeddedPostgresSettings,
                BinDirectory = options.Value.PostgresBinDirectory,
                SearchForBinaries = options.Value.PostgresBinDirectory is null,
            });
        _resolved = new Lazy<(string, EmbeddedPostgres?)>(() =>
        {
            if (_embedded.Value is not { } embedded) return (configuration.GetConnectionString("Marten")!, null);
            var server = EmbeddedPostgres.StartOrAttach(embedded, logger);
            return (server.ConnectionString(), server);
        });
    }

    public string ConnectionString => _resolved.Value.ConnectionString;

    /// <summary>Statements Npgsql keeps prepared per connection when the configured connection string does not say
    /// (<see cref="WithStatementPreparation"/>).</summary>
    public const int StorePreparedStatements = 64;

    /// <summary>
    /// <paramref name="connectionString"/> with Npgsql's automatic preparation (<c>Max Auto Prepare</c>) unless it sets
    /// that itself (0 turns it off): a statement run five times on a connection is prepared there, and PostgreSQL parses
    /// and plans it once per connection instead of on every command. It also keeps the cached plans of the PL/pgSQL
    /// functions (Marten's <c>mt_quick_append_events</c>, the upserts): a pooled connection that holds prepared
    /// statements is reset without <c>DISCARD ALL</c> (which drops every plan), by <c>RESET ALL</c>, <c>CLOSE ALL</c>,
    /// <c>UNLISTEN *</c>, <c>pg_advisory_unlock_all()</c>, <c>DISCARD SEQUENCES</c> and <c>DISCARD TEMP</c> — so the
    /// temporary tables of Marten's bulk insert are still dropped. Measured in docs/benchmarks.md ("Cutting the command's CPU").
    /// </summary>
    public static string WithStatementPreparation(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (given.Keys.Cast<string>().Any(k => k.Replace(" ", "").Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase)))
            return connectionString;
        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = StorePreparedStatements }.ConnectionString;
    }

    /// <summary>
    /// Fails now, before anything starts, when the embedded cluster is needed and the machine has no PostgreSQL
    /// binaries; starts nothing.
    /// </summary>
    /// <exception cref="PostgresBinariesNotFoundException">No initdb/pg_ctl/postgres where they are looked for.</exception>
    public void EnsureServerCanStart()
    {
        if (_embedded.Value is { } embedded) EmbeddedPostgres.FindBinaries(embedded);
    }

    public void Dispose()
    {
        if (_resolved.IsValueCreated) _resolved.Value.Server?.Dispose();
    }
}
