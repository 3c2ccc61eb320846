using Matrix.Rooms.Host.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Wolverine;

namespace Matrix.Rooms.Bench.Scenarios;

/// <summary>
/// A real Host (Kestrel on a free loopback port, Wolverine, Marten) on a fresh database of the embedded PostgreSQL
/// cluster under <c>.data/postgres-bench</c> (or the configured server, <see cref="BenchCluster"/>), with the server's default durability settings.
/// </summary>
public sealed class BenchHost : IAsyncDisposable
{
    private BenchHost(WebApplication app, BenchCluster cluster, string connectionString)
    {
        App = app;
        Cluster = cluster;
        ConnectionString = connectionString;
    }

    public WebApplication App { get; }
    public BenchCluster Cluster { get; }
    public string ConnectionString { get; }
    public string BaseUrl => App.Urls.First();

    /// <param name="configure">Settings over the bench defaults (e.g. real password hashing for the login scenario).</param>
    /// <param name="statements">On the profiling cluster (<c>pg_stat_statements</c> preloaded, <see cref="BenchCluster.StartOrAttach"/>).</param>
    public static async Task<BenchHost> StartAsync(IReadOnlyDictionary<string, string?>? configure = null, bool statements = false)
    {
        var cluster = BenchCluster.StartOrAttach(statements);
        var connectionString = cluster.CreateDatabase($"bench_{DateTime.UtcNow:yyyyMMddHHmmss}_{Random.Shared.Next(1000)}");
        // Experiments (e.g. "No Reset On Close=true"): Npgsql settings added to the Host's connection string.
        if (Environment.GetEnvironmentVariable("MATRIX_ROOMS_BENCH_CONNECTION_OPTIONS") is { Length: > 0 } extra)
            connectionString += ";" + extra;

        var builder = WebApplication.CreateBuilder([]);
        builder.Configuration["urls"] = "http://127.0.0.1:0";
        builder.Configuration["ConnectionStrings:Marten"] = connectionString;
        builder.Configuration["MatrixRooms:PasswordHashIterations"] = "1000";
        // The scenarios drive one account from one address far past any real rate limit.
        foreach (var limit in new[] { "Register", "Login", "FailedLogin", "Send", "Invite" })
            builder.Configuration[$"MatrixRooms:RateLimits:{limit}:PerSecond"] = "0";
        foreach (var (key, value) in configure ?? new Dictionary<string, string?>()) builder.Configuration[key] = value;
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddMatrixRooms();
        var app = builder.Build();
        app.UseMatrixRoomsApi();
        await app.StartAsync();
        return new BenchHost(app, cluster, connectionString);
    }

    public IMessageBus NewBus() => App.Services.CreateScope().ServiceProvider.GetRequiredService<IMessageBus>();

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        // Each run makes its own database; drop it so repeated runs do not fill the disk.
        Cluster.DropDatabase(new NpgsqlConnectionStringBuilder(ConnectionString).Database!);
        Cluster.Dispose();
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Matrix.Rooms.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
