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

    /// <summary>
    /// The connection string, with Npgsql's <c>No Reset On Close</c> on unless it says otherwise: by default a pooled
    /// connection sends <c>DISCARD ALL</c> when it is next used, which also drops the server's cached plans, so every
    /// command re-plans the statements inside <c>mt_quick_append_events</c> (docs/benchmarks.md, "Where a command's time
    /// goes": half the server time of an invite). Nothing here keeps session state on a pooled connection: the room lock
    /// and its <c>lock_timeout</c> are transaction-scoped, Weasel releases its session advisory locks before closing, and
    /// the sync <c>LISTEN</c> connection is not pooled.
    /// </summary>
    public string ConnectionString => WithoutReset(_resolved.Value.ConnectionString);

    internal static string WithoutReset(string connectionString) =>
        connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase)
            ? connectionString
            : new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true }.ConnectionString;

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
