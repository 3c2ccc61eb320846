using Npgsql;

namespace Matrix.Rooms.Host.Tests.Cluster;

/// <summary>
/// Reads Wolverine's node tracking (docs/scale-out.md): <c>wolverine_nodes</c>, one row per live node, and
/// <c>wolverine_node_assignments</c>, which node runs each agent (the leader, the durability agents, async projections).
/// In the Marten store's schema (<c>public</c> unless <c>MatrixRooms:Schema</c>). Shared with the cluster bench.
/// </summary>
public sealed class WolverineNodeTable(string connectionString, string schema = "public")
{
    public async Task<IReadOnlyList<Guid>> LiveNodesAsync()
    {
        var nodes = new List<Guid>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"select id from {schema}.wolverine_nodes order by node_number", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) nodes.Add(reader.GetGuid(0));
        return nodes;
    }

    /// <summary>Agent URI → the node running it (agents not assigned are left out).</summary>
    public async Task<IReadOnlyDictionary<string, Guid>> AssignmentsAsync()
    {
        var assignments = new Dictionary<string, Guid>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"select id, node_id from {schema}.wolverine_node_assignments where node_id is not null", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) assignments[reader.GetString(0)] = reader.GetGuid(1);
        return assignments;
    }
}
