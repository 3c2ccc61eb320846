using Matrix.Rooms.Postgres;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Matrix.Rooms.Host.Tests.Infrastructure;

/// <summary>The launcher on real PostgreSQL binaries: first start, reuse, stale pid file, missing binaries.</summary>
public sealed class EmbeddedPostgresTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "matrix-rooms-launcher-" + Guid.NewGuid().ToString("N")[..8]);

    private EmbeddedPostgresOptions Options => new() { DataDirectory = Path.Combine(_root, "postgres"), Database = "launcher_test" };

    [Fact]
    public async Task Starts_a_new_cluster_and_keeps_its_data_across_restarts()
    {
        using (var first = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance))
        {
            first.OwnsServer.Should().BeTrue();
            await Execute(first.ConnectionString(), "create table kept (id int); insert into kept values (42);");
        }

        using var second = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance);
        second.OwnsServer.Should().BeTrue("the first instance stopped the server on dispose");
        (await Scalar(second.ConnectionString(), "select id from kept")).Should().Be(42);
    }

    [Fact]
    public async Task Attaches_to_a_running_cluster_without_taking_ownership()
    {
        using var owner = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance);
        using (var guest = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance))
        {
            guest.OwnsServer.Should().BeFalse();
            guest.Port.Should().Be(owner.Port);
        }
        // The attached instance's dispose must not have stopped the owner's server.
        (await Scalar(owner.ConnectionString(), "select 7")).Should().Be(7);
    }

    [Fact]
    public async Task Recovers_from_a_stale_postmaster_pid_left_by_a_crash()
    {
        using (EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance)) { }
        var pidFile = Path.Combine(Options.DataDirectory, "postmaster.pid");
        // A pid that cannot be running: the kernel's pid_max is far below int.MaxValue.
        await File.WriteAllTextAsync(pidFile, $"{int.MaxValue - 1}\n{Options.DataDirectory}\n0\n5999\n");

        using var restarted = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance);
        restarted.OwnsServer.Should().BeTrue();
        (await Scalar(restarted.ConnectionString(), "select 1")).Should().Be(1);
    }

    [Fact]
    public void Databases_are_created_listed_and_dropped()
    {
        using var server = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance);
        server.CreateDatabase("scratch_one");
        server.DatabasesStartingWith("scratch_").Should().Equal("scratch_one");
        server.DropDatabase("scratch_one");
        server.DatabasesStartingWith("scratch_").Should().BeEmpty();
    }

    [Fact]
    public void Missing_binaries_fail_with_one_line_naming_the_package()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_root, "empty-bin")).FullName;
        var act = () => EmbeddedPostgres.StartOrAttach(Options with { BinDirectory = empty, SearchForBinaries = false }, NullLogger.Instance);
        act.Should().Throw<PostgresBinariesNotFoundException>()
            .Which.Message.Should().Contain("postgresql").And.NotContain("\n");
    }

    [Fact]
    public void Links_to_binaries_that_are_gone_count_as_missing_binaries()
    {
        // What a removed package leaves behind in /usr/local/bin: links to initdb, pg_ctl and postgres that name nothing.
        var links = Directory.CreateDirectory(Path.Combine(_root, "dangling-bin")).FullName;
        foreach (var binary in new[] { "initdb", "pg_ctl", "postgres" })
            File.CreateSymbolicLink(Path.Combine(links, binary), Path.Combine(_root, "removed", binary));
        var act = () => EmbeddedPostgres.StartOrAttach(Options with { BinDirectory = links, SearchForBinaries = false }, NullLogger.Instance);
        act.Should().Throw<PostgresBinariesNotFoundException>();
    }

    private static async Task Execute(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<int> Scalar(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync());
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
