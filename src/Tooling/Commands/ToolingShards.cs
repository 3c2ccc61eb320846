using Marten;
using Marten.Storage;
using Matrix.Rooms.Projections;
using Matrix.Rooms.Tooling.Rebuild;
using Weasel.Postgresql;

namespace Matrix.Rooms.Tooling.Commands;

/// <summary>
/// The tooling over rooms sharded across databases (the Host's <c>MatrixRooms:Shards</c>: each shard a Marten tenant
/// database, <c>shard0</c> the main one). <c>--shard n</c> picks one; without it a command runs over every shard. Each
/// shard gets a single-database store with the engine's model on that database's data source, so the tools (written
/// for one database) run unchanged on it. A server without shards: the serving store itself, as before.
/// </summary>
internal static class ToolingShards
{
    public const string FlagHelp = "Shard (database) to work on: 0 = the main database, n = MatrixRooms:Shards entry n-1; default: every shard";

    /// <summary>How many databases hold rooms (1 without shards).</summary>
    public static async Task<int> CountAsync(IDocumentStore serving) => (await serving.Storage.AllDatabases()).Count;

    /// <summary>The shards to work on (<paramref name="shard"/> below 0: all), each with a store on its database; dispose them.</summary>
    public static async Task<IReadOnlyList<ShardStore>> SelectAsync(IDocumentStore serving, int shard)
    {
        var databases = await serving.Storage.AllDatabases();
        if (shard >= databases.Count)
            throw new ArgumentException($"--shard {shard}: there {(databases.Count == 1 ? "is one shard (0)" : $"are {databases.Count} shards (0–{databases.Count - 1})")}");
        if (databases.Count <= 1) return [new ShardStore(0, serving, owned: false)];
#pragma warning disable CS0618 // Identifier: the tenant database's name as the Host registered it ("shard{n}")
        var byNumber = databases.OfType<IMartenDatabase>()
            .ToDictionary(d => int.TryParse(d.Identifier.AsSpan("shard".Length), out var n) ? n : throw new InvalidOperationException($"Not a shard database: {d.Identifier}"));
#pragma warning restore CS0618
        var options = (StoreOptions)serving.Options;
        // The serving model's schema in every shard first (what the Host applies at start-up; a fresh database gets its
        // tables): the per-shard stores then never migrate anything themselves — their model is the engine's part only, and
        // a migration from it would change what the serving store relies on (e.g. its quick-append function).
        await serving.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        return (shard < 0 ? byNumber.Keys.Order().ToArray() : [shard])
            .Select(n => new ShardStore(n, RebuildStaging.StoreFor(serving, ((PostgresqlDatabase)byNumber[n]).DataSource, options.DatabaseSchemaName, o =>
            {
                o.AutoCreateSchemaObjects = JasperFx.AutoCreate.None;
                o.Events.AppendMode = options.Events.AppendMode;
            }), owned: true)).ToList();
    }

    /// <summary>The shard a room lives in (<see cref="RoomPlacement"/>).</summary>
    public static async Task<ShardStore> ForRoomAsync(IDocumentStore serving, string roomId, int shard)
    {
        var count = await CountAsync(serving);
        return (await SelectAsync(serving, shard >= 0 ? shard : RoomPlacement.ShardOf(roomId, count)))[0];
    }
}

/// <summary>One shard's store for a tooling command (disposed when the command built it).</summary>
internal sealed class ShardStore(int shard, IDocumentStore store, bool owned) : IDisposable
{
    public int Shard => shard;
    public IDocumentStore Store => store;

    public void Dispose()
    {
        if (owned) store.Dispose();
    }
}
