using Matrix.Rooms.Host.Infrastructure.Postgres;
using Matrix.Rooms.Host.Tests.Support;
using Npgsql;

namespace Matrix.Rooms.Host.Tests.Infrastructure;

/// <summary>
/// The store's connections prepare their repeated statements (<see cref="DatabaseConnection.WithStatementPreparation"/>):
/// the prepared statements survive the pool's reset, temporary tables (Marten's bulk insert) do not, and a connection
/// string that sets <c>Max Auto Prepare</c> itself keeps its value.
/// </summary>
public sealed class StatementPreparationTests
{
    [Fact]
    public async Task A_pooled_connection_keeps_its_prepared_statements_and_loses_its_temporary_tables()
    {
        var single = new NpgsqlConnectionStringBuilder(DatabaseConnection.WithStatementPreparation(TestDatabase.NewDatabase("prepare")))
        {
            MaxPoolSize = 1, // the second open gets the same physical connection back from the pool
        };
        await using var dataSource = NpgsqlDataSource.Create(single.ConnectionString);

        await using (var first = await dataSource.OpenConnectionAsync())
        {
            for (var i = 0; i < 6; i++) await Scalar(first, "select count(*) from pg_class where relname = 'pg_proc'");
            (await Scalar(first, "select count(*) from pg_prepared_statements")).Should().BeGreaterThan(0, "the repeated statement is prepared");
            await Scalar(first, "create temporary table bulk_staging (id text)");
        }

        await using var second = await dataSource.OpenConnectionAsync();
        (await Scalar(second, "select count(*) from pg_prepared_statements"))
            .Should().BeGreaterThan(0, "the reset keeps prepared statements (no DISCARD ALL)");
        (await Scalar(second, "select count(*) from pg_class where relname = 'bulk_staging' and relpersistence = 't'"))
            .Should().Be(0, "the reset still drops the session's temporary tables");
    }

    [Theory]
    [InlineData("Host=localhost;Max Auto Prepare=0", 0)]
    [InlineData("Host=localhost;MaxAutoPrepare=7", 7)]
    [InlineData("Host=localhost", DatabaseConnection.StorePreparedStatements)]
    public void The_configured_connection_string_wins(string configured, int expected) =>
        new NpgsqlConnectionStringBuilder(DatabaseConnection.WithStatementPreparation(configured)).MaxAutoPrepare.Should().Be(expected);

    private static async Task<long> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync() ?? 0L);
    }
}
