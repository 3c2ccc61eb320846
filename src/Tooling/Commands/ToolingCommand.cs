using System.Text.Json;
using JasperFx.CommandLine;
using Matrix.Rooms.Tooling.Replay;
using Npgsql;

namespace Matrix.Rooms.Tooling.Commands;

/// <summary>
/// What the tooling commands (<c>room-state</c>, <c>rebuild</c>, <c>export</c>, <c>import</c>, <c>seed</c>) share: the
/// Host's services without starting the server, and one line on standard error plus exit code 1 for bad input
/// instead of a stack trace.
/// </summary>
internal static class ToolingCommand
{
    public static async Task<bool> RunAsync(string name, NetCoreInput input, Func<IServiceProvider, Task<bool>> work, bool start = false)
    {
        using var host = input.BuildHost();
        try
        {
            // Only the command path needs Wolverine running. The Host's command line gives commands a throwaway
            // loopback port, so starting never clashes with a Host that is serving.
            if (start) await host.StartAsync();
            var ok = await work(host.Services);
            if (start) await host.StopAsync();
            return ok;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException or IOException or JsonException
                                       or ProjectionReplayException or RoomExistsException or InvalidOperationException or NpgsqlException
                                       or Tooling.Rebuild.RebuildFailedException)
        {
            return Fail(name, e.Message);
        }
    }

    public static bool Fail(string name, string message)
    {
        Console.Error.WriteLine($"{name}: {message}");
        return false;
    }
}
