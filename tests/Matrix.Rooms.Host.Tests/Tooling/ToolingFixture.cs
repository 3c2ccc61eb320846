using Alba;
using Marten;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Projections;
using Matrix.Rooms.Tooling;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Replay;
using Matrix.Rooms.Tooling.Seeding;
using Matrix.Rooms.Tooling.Transfer;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using NodaTime;
using Npgsql;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.Tooling;

/// <summary>
/// A Host of its own on its own database: the tooling rebuilds and wipes read models, which must not disturb the other
/// test collections. Also opens extra databases (import targets) on the same cluster.
/// </summary>
public sealed class ToolingFixture : IAsyncLifetime
{
    public IAlbaHost Host { get; private set; } = null!;
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        ConnectionString = TestDatabase.NewDatabase("tooling");
        Host = await AlbaHost.For<Program>(builder =>
        {
            builder.UseSetting("ConnectionStrings:Marten", ConnectionString);
            builder.UseSetting("MatrixRooms:PasswordHashIterations", "1000");
            // The real clock: MatrixEvent.Create keeps whole milliseconds, so inline == rebuilt holds exactly.
            builder.ConfigureServices(services => services.RunWolverineInSoloMode());
        });
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    public IDocumentStore Store => Host.Services.GetRequiredService<IDocumentStore>();
    public IMessageBus Bus => Host.Services.CreateScope().ServiceProvider.GetRequiredService<IMessageBus>();
    /// <summary>A Host service, or a tooling service made on the Host's services (as the commands make them).</summary>
    public T Service<T>() where T : notnull => ActivatorUtilities.GetServiceOrCreateInstance<T>(Host.Services);

    /// <summary>A separate store (the Host's configuration) on a fresh database, e.g. an import target.</summary>
    public static DocumentStore NewStore(string purpose, Action<StoreOptions>? configure = null) =>
        StoreOn(TestDatabase.NewDatabase(purpose), configure);

    /// <summary>A store with the Host's event-store configuration on an existing database.</summary>
    public static DocumentStore StoreOn(string connection, Action<StoreOptions>? configure = null)
    {
        return DocumentStore.For(options =>
        {
            options.AddMatrixRooms(connection);
            options.Events.AppendMode = JasperFx.Events.EventAppendMode.Rich;
            configure?.Invoke(options);
        });
    }

    public static ProjectionRebuilder Rebuilder(IDocumentStore store) => new(store, NullLogger<ProjectionRebuilder>.Instance);
    public static EventImporter Importer(IDocumentStore store) => new(store, NullLogger<EventImporter>.Instance);

    public static async Task<SeedResult> SeedBulkAsync(IDocumentStore store, SeedOptions options) =>
        await new RoomSeeder(store, new ServiceCollection().BuildServiceProvider(), NullLogger<RoomSeeder>.Instance)
            .SeedAsync(options, bulk: true, new SilentProgress(), CancellationToken.None);

    public static async Task<string> ExportAsync(IDocumentStore store, IReadOnlyList<string>? rooms = null)
    {
        var exporter = new EventExporter(store);
        using var output = new MemoryStream();
        await exporter.ExportAsync(await exporter.ResolveRoomsAsync(rooms ?? [], CancellationToken.None), output, new SilentProgress(), CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(output.ToArray());
    }

    /// <summary>Every document row of every projection table, as (table, id) → JSON, for comparing whole read models.</summary>
    public static async Task<Dictionary<string, string>> ReadModelAsync(IDocumentStore store)
    {
        var rows = new Dictionary<string, string>();
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync();
        foreach (var type in ProjectionCatalog.All(store).SelectMany(p => p.PublishedTypes).Distinct())
        {
            await store.Storage.Database.EnsureStorageExistsAsync(type);
            var table = store.Options.FindOrResolveDocumentType(type).TableName.QualifiedName;
            await using var cmd = new NpgsqlCommand($"select id::text, data::text from {table}", connection);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) rows[$"{type.Name}|{reader.GetString(0)}"] = reader.GetString(1);
        }
        return rows;
    }
}

public static class ReadModelAssertions
{
    /// <summary>Compares two read models and fails with the first few differences (not the whole model).</summary>
    public static void ShouldEqualReadModel(this Dictionary<string, string> actual, Dictionary<string, string> expected, string because = "")
    {
        var problems = new List<string>();
        foreach (var (key, value) in expected)
            if (!actual.TryGetValue(key, out var other)) problems.Add($"missing {key}");
            else if (other != value) problems.Add($"differs {key}:\n    expected {value}\n    actual   {other}");
        problems.AddRange(actual.Keys.Where(k => !expected.ContainsKey(k)).Select(k => $"extra {k}"));
        problems.Should().BeEmpty($"{because} ({problems.Count} differences; first: {string.Join("\n", problems.Take(5))})");
    }
}

public sealed class SilentProgress : IRebuildObserver, ITransferObserver
{
    public long Done;
    public void Planned(RebuildPlan plan) { }
    public void Progress(long eventsDone, long eventsTotal) => Done = eventsDone;
    public void Note(string message) { }
    public void Started(long totalEvents, int rooms) { }
    public void Advance(long events) => Interlocked.Add(ref Done, events);
}

[CollectionDefinition(Name)]
public sealed class ToolingCollection : ICollectionFixture<ToolingFixture>
{
    public const string Name = "tooling";
}
