using JasperFx.Events.Projections;
using Marten;
using Matrix.Rooms.Host.Tooling.Rebuild;
using Matrix.Rooms.Host.Tooling.Seeding;
using Matrix.Rooms.Host.Tooling.TimeTravel;
using Matrix.Rooms.Host.Tooling.Transfer;
using Matrix.Rooms.Projections;
using Spectre.Console;

namespace Matrix.Rooms.Host.Tooling;

/// <summary>
/// The replay and rebuild tooling in one call: time travel (the live <see cref="RoomSnapshotProjection"/> and
/// <see cref="RoomTimeTravel"/>), the rebuild, import, export and seeding services the command line uses, and the
/// admin API settings. Map the admin API with <see cref="AdminApi.MapRoomsAdmin"/>.
/// </summary>
public static class ToolingRegistration
{
    /// <summary>The command-line commands of the tooling; they show progress, so the console log stays at warnings.</summary>
    public static readonly IReadOnlySet<string> Commands = new HashSet<string> { "room-state", "rebuild", "export", "import", "seed" };

    public static WebApplicationBuilder AddMatrixRoomsTooling(this WebApplicationBuilder builder)
    {
        var command = Environment.GetCommandLineArgs().Skip(1).FirstOrDefault(a => !a.StartsWith('-'));
        if (command is not null && Commands.Contains(command))
        {
            if (builder.Configuration["Logging:LogLevel:Default"] is null) builder.Logging.SetMinimumLevel(LogLevel.Warning);
            // Standard output carries results (room-state JSON, export to '-'); JasperFx's banner goes to standard error.
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        }
        builder.Services.Configure<AdminApiOptions>(builder.Configuration.GetSection(AdminApiOptions.Section));
        var configuration = builder.Configuration;
        builder.Services.ConfigureMarten(options => options.AddMatrixRoomsTooling(configuration));
        builder.Services.AddSingleton<RoomTimeTravel>();
        builder.Services.AddSingleton<ProjectionRebuilder>();
        builder.Services.AddSingleton<EventExporter>();
        builder.Services.AddSingleton<EventImporter>();
        builder.Services.AddSingleton<RoomSeeder>();
        return builder;
    }

    /// <summary>
    /// The store side of the tooling, for any store configured with <c>AddMatrixRooms</c>: the live
    /// <see cref="RoomSnapshotProjection"/> behind time travel, and projection versions raised by configuration
    /// (<c>MatrixRooms:ProjectionVersions:&lt;name&gt;</c>, e.g. to rehearse a blue/green rebuild) with their own tables.
    /// </summary>
    public static StoreOptions AddMatrixRoomsTooling(this StoreOptions options, IConfiguration? configuration = null)
    {
        options.Projections.Add(new RoomSnapshotProjection(), ProjectionLifecycle.Live);
        var versions = configuration?.GetSection("MatrixRooms:ProjectionVersions");
        foreach (var projection in options.Projections.All.OfType<ProjectionBase>())
            if (uint.TryParse(versions?[projection.Name], out var version) && version > projection.Version)
                projection.Version = version;
        options.UseVersionedProjectionTables();
        return options;
    }
}
