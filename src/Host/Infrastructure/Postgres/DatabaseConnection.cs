using Matrix.Rooms.Postgres;
using Microsoft.Extensions.Options;

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
