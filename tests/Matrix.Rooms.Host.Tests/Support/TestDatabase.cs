using Matrix.Rooms.Postgres;
using Microsoft.Extensions.Logging.Abstractions;

namespace Matrix.Rooms.Host.Tests.Support;

/// <summary>
/// One embedded PostgreSQL cluster per test run (the same launcher the Host uses), with a fresh database per fixture.
/// Durability settings are relaxed here only: the tests never survive a crash anyway.
/// </summary>
public static class TestDatabase
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static readonly Lazy<EmbeddedPostgres> Server = new(() =>
    {
        var server = EmbeddedPostgres.StartOrAttach(new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(RepositoryRoot, ".data", "postgres-tests"),
            ServerSettings = new Dictionary<string, string> { ["fsync"] = "off", ["synchronous_commit"] = "off", ["max_connections"] = "300" },
        }, NullLogger.Instance);
        DropDatabasesOfEarlierRuns(server);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
        return server;
    });

    /// <summary>
    /// The cluster outlives a run (it is reused next time) and a test host is not told when the run ends, so each run
    /// starts by dropping the databases earlier runs left behind (so two test runs in one clone must not overlap).
    /// </summary>
    private static void DropDatabasesOfEarlierRuns(EmbeddedPostgres server)
    {
        foreach (var name in server.DatabasesStartingWith("test_")) server.DropDatabase(name);
    }

    public static EmbeddedPostgres Cluster => Server.Value;

    public static string NewDatabase(string purpose)
    {
        var name = $"test_{purpose}_{Guid.NewGuid():N}"[..40].ToLowerInvariant();
        return Server.Value.CreateDatabase(name);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Matrix.Rooms.sln"))) return dir.FullName;
        return Path.GetTempPath();
    }
}
