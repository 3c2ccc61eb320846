using Matrix.Rooms.Tooling.Seeding;

namespace Matrix.Rooms.Host.Commands;

/// <summary>The Host's command line: the tooling's commands (Matrix.Rooms.Tooling) and the demos, offered through JasperFx.</summary>
public static class CommandLine
{
    /// <summary>What the tooling needs of the server: the room command path for <c>seed</c>. Nothing runs until a command asks.</summary>
    public static IServiceCollection AddMatrixRoomsCommandLine(this IServiceCollection services) =>
        services.AddScoped<IRoomCommandPath, RoomCommandPath>();
}
