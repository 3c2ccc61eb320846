using JasperFx;
using Marten;
using Matrix.Rooms.Domain.Rooms;
using Wolverine;

namespace Matrix.Rooms.Host.Infrastructure.Sharding;

/// <summary>
/// Where rooms live when they are spread over several PostgreSQL databases (docs/scale-out.md "Sharding rooms"). The main
/// database (<c>ConnectionStrings:Marten</c>) is shard 0 and keeps everything user-scoped; <c>MatrixRooms:Shards</c> lists
/// the connection strings of shards 1…N-1. Each shard is a Marten tenant of one store (database per tenant: tenant ID
/// <c>shard{n}</c>, shard 0 the store's default tenant), so a session for a room is <c>store.LightweightSession(tenant)</c>
/// and a room command travels to Wolverine with the tenant ID (<see cref="InvokeAsync{T}"/>). No shards configured: one
/// shard, and every call here is today's single-database call.
/// </summary>
public sealed class RoomShards
{
    public const string Section = "MatrixRooms:Shards";

    public RoomShards(IReadOnlyList<string> extraConnectionStrings) => ExtraConnectionStrings = extraConnectionStrings;

    /// <summary>The connection strings of shards 1…N-1, in order (shard n is entry n-1).</summary>
    public IReadOnlyList<string> ExtraConnectionStrings { get; }

    /// <summary>How many databases hold rooms (1: only the main database).</summary>
    public int Count => ExtraConnectionStrings.Count + 1;

    public bool IsSharded => Count > 1;

    /// <summary>The configured extra shards (<c>MatrixRooms:Shards:0</c>, <c>:1</c>, …), blanks ignored.</summary>
    public static RoomShards FromConfiguration(IConfiguration configuration) =>
        new(configuration.GetSection(Section).GetChildren().OrderBy(c => int.TryParse(c.Key, out var i) ? i : int.MaxValue)
            .Select(c => c.Value).Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!).ToList());

    /// <summary>The placement rule (<see cref="Projections.RoomPlacement.ShardOf"/>: SHA-256 of the room ID, first 8 bytes, modulo the count).</summary>
    public static int ShardOf(string roomId, int count) => Projections.RoomPlacement.ShardOf(roomId, count);

    public int ShardOf(string roomId) => ShardOf(roomId, Count);

    /// <summary>The Marten tenant of a shard: the store's default tenant for shard 0 (the main database), <c>shard{n}</c> otherwise.</summary>
    public static string TenantOf(int shard) => shard == 0 ? StorageConstants.DefaultTenantId : $"shard{shard}";

    public string TenantOfRoom(string roomId) => TenantOf(ShardOf(roomId));

    public IEnumerable<int> All => Enumerable.Range(0, Count);

    /// <summary>A room command to its room's database: Wolverine opens the handler's session for the room's tenant.</summary>
    public Task<T> InvokeAsync<T>(IMessageBus bus, RoomCommand command, CancellationToken ct) =>
        ShardOf(command.RoomId) is var shard && shard == 0
            ? bus.InvokeAsync<T>(command, ct)
            : bus.InvokeForTenantAsync<T>(TenantOf(shard), command, ct);

    /// <summary>
    /// Configures the store for the shards: each database a Marten tenant (database per tenant), the main database first
    /// and so the default tenant. Nothing is changed with one shard.
    /// </summary>
    /// <param name="connectionSettings">What the Host adds to every connection string (statement preparation), for the shards as for the main database.</param>
    public void Configure(StoreOptions options, string mainConnectionString, Func<string, string> connectionSettings)
    {
        if (!IsSharded) return;
        options.MultiTenantedDatabases(tenancy =>
        {
            // The first database added is the default tenant's: the main database.
            tenancy.AddSingleTenantDatabase(mainConnectionString, "shard0");
            for (var i = 0; i < ExtraConnectionStrings.Count; i++)
                tenancy.AddSingleTenantDatabase(connectionSettings(ExtraConnectionStrings[i]), TenantOf(i + 1));
        });
        // Sessions without a tenant (everything user-scoped) are the main database's: Marten refuses them otherwise.
        options.Advanced.DefaultTenantUsageEnabled = true;
    }
}

/// <summary>
/// The request's sessions per shard: shard 0 is the request's own <see cref="IQuerySession"/> (so with one shard nothing
/// changes), another shard's session is opened on first use and disposed with the request scope.
/// </summary>
public sealed class RoomSessions(IQuerySession main, IDocumentStore store, RoomShards shards) : IAsyncDisposable
{
    private readonly Dictionary<int, IQuerySession> _opened = new();

    public RoomShards Shards => shards;

    public IQuerySession Main => main;

    /// <summary>The session reading <paramref name="roomId"/>'s database.</summary>
    public IQuerySession For(string roomId) => ForShard(shards.ShardOf(roomId));

    public IQuerySession ForShard(int shard)
    {
        if (shard == 0) return main;
        if (!_opened.TryGetValue(shard, out var session))
            _opened[shard] = session = store.QuerySession(RoomShards.TenantOf(shard));
        return session;
    }

    /// <summary>One session per shard, shard 0 first (the per-user views fan out over these).</summary>
    public IEnumerable<IQuerySession> All => shards.All.Select(ForShard);

    public async ValueTask DisposeAsync()
    {
        foreach (var session in _opened.Values) await session.DisposeAsync();
        _opened.Clear();
    }
}

public static class RoomSessionsHttp
{
    /// <summary>The request's session for <paramref name="roomId"/>'s database (<see cref="RoomSessions.For"/>).</summary>
    public static IQuerySession RoomSession(this HttpContext http, string roomId) =>
        http.RequestServices.GetRequiredService<RoomSessions>().For(roomId);
}
