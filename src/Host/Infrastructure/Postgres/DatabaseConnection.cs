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

    public DatabaseConnection(IConfiguration configuration, IOptions<MatrixRoomsOptions> options, ILogger<EmbeddedPostgres> logger)
    {
        _resolved = new Lazy<(string, EmbeddedPostgres?)>(() =>
        {
            var configured = configuration.GetConnectionString("Marten");
            if (!string.IsNullOrWhiteSpace(configured)) return (configured, null);
            var server = EmbeddedPostgres.StartOrAttach(new EmbeddedPostgresOptions
            {
                DataDirectory = Path.Combine(options.Value.ResolveDataDirectory(), "postgres"),
                ServerSettings = options.Value.EmbeddedPostgresSettings,
            }, logger);
            return (server.ConnectionString(), server);
        });
    }

    public string ConnectionString => _resolved.Value.ConnectionString;

    public void Dispose()
    {
        if (_resolved.IsValueCreated) _resolved.Value.Server?.Dispose();
    }
}
