using JasperFx.CommandLine;
using Matrix.Rooms.Tooling.Seeding;

namespace Matrix.Rooms.Tooling.Commands;

public sealed class SeedInput : NetCoreInput
{
    [Description("Number of rooms")]
    public int RoomsFlag = 10;

    [Description("Members per room (the creator included)")]
    public int MembersFlag = 10;

    [Description("Events per room, creation and joins included")]
    public int EventsFlag = 100;

    [Description("Random seed: the same seed generates the same rooms")]
    public int SeedFlag = 1;

    [Description("Write through the bulk (COPY) path instead of sending every command through Wolverine")]
    public bool BulkFlag;
}

[Description("Generates realistic rooms with Bogus (members, messages, third-party invites, visibility and guest-access changes), deterministic per seed",
    Name = "seed")]
public sealed class SeedCommand : JasperFxAsyncCommand<SeedInput>
{
    public override Task<bool> Execute(SeedInput input) => ToolingCommand.RunAsync("seed", input, async services =>
    {
        using var scope = services.CreateScope();
        var options = new SeedOptions
        {
            Rooms = input.RoomsFlag, Members = input.MembersFlag, Events = input.EventsFlag, Seed = input.SeedFlag,
            ServerName = scope.ServiceProvider.GetRequiredService<IRoomCommandPath>().ServerName,
        };
        options.Validate();
        var seeder = ActivatorUtilities.GetServiceOrCreateInstance<RoomSeeder>(services);
        SeedResult result;
        try
        {
            result = await ConsoleProgress.RunAsync("seed", progress => seeder.SeedAsync(options, input.BulkFlag, progress, CancellationToken.None));
        }
        catch (Exception e) when (Exists(e) is { } exists)
        {
            return ToolingCommand.Fail("seed", $"{exists.Message}: this seed was used here before; choose another --seed");
        }
        Console.WriteLine($"Seeded {result.Rooms} room{(result.Rooms == 1 ? "" : "s")}, {result.Events:N0} events through the {(input.BulkFlag ? "bulk" : "command")} path " +
                          $"in {result.Elapsed.TotalSeconds:F1} s = {result.EventsPerSecond:N0} events/s (seed {options.Seed})");
        foreach (var room in result.RoomIds.Take(5)) Console.WriteLine($"  {room}");
        if (result.RoomIds.Count > 5) Console.WriteLine($"  … and {result.RoomIds.Count - 5} more");
        if (result.Refused > 0) Console.Error.WriteLine($"{result.Refused} seeded commands were refused (see the log)");
        return result.Refused == 0;
    }, start: !input.BulkFlag);

    private static Tooling.Replay.RoomExistsException? Exists(Exception? e) => e switch
    {
        null => null,
        Tooling.Replay.RoomExistsException exists => exists,
        AggregateException all => all.InnerExceptions.Select(Exists).FirstOrDefault(x => x is not null),
        _ => Exists(e.InnerException),
    };
}
