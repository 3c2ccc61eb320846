using System.Text.Json;
using JasperFx.CommandLine;
using Matrix.Rooms.Projections.TimeTravel;

namespace Matrix.Rooms.Tooling.Commands;

public sealed class RoomStateInput : NetCoreInput
{
    [Description("The room ID, e.g. '!abc:localhost' (quote it in the shell)")]
    public string RoomId = "";

    [Description("The state after the room's N-th event (1 = m.room.create)")]
    public string? AtVersionFlag;

    [Description("The state as stored at this instant: ISO-8601 (2026-05-01T12:00:00Z) or Unix milliseconds")]
    public string? AtFlag;

    [Description("Print the JSON on one line")]
    public bool CompactFlag;

    [Description("Shard (database) the room is in; default: the one its room ID places it in")]
    public int ShardFlag = -1;
}

[Description("Time travel: a room's state (members, power levels, join rule, history visibility, guest access, pending third-party invites) at a version or instant, as JSON",
    Name = "room-state")]
public sealed class RoomStateCommand : JasperFxAsyncCommand<RoomStateInput>
{
    public RoomStateCommand()
    {
        Usage("Latest state").Arguments(x => x.RoomId);
        Usage("State at a version or instant").Arguments(x => x.RoomId).ValidFlags(x => x.AtVersionFlag!, x => x.AtFlag!, x => x.CompactFlag, x => x.ShardFlag);
    }

    public override Task<bool> Execute(RoomStateInput input) => ToolingCommand.RunAsync("room-state", input, async services =>
    {
        var point = RoomPoint.Parse(input.AtVersionFlag, input.AtFlag);
        if (!point.IsSuccess) return ToolingCommand.Fail("room-state", $"{point.Error!.ErrCode}: {point.Error.Error}");
        using var shard = await ToolingShards.ForRoomAsync(services.GetRequiredService<Marten.IDocumentStore>(), input.RoomId, input.ShardFlag);
        var state = await new RoomTimeTravel(shard.Store).StateAtAsync(input.RoomId, point.Value);
        if (!state.IsSuccess) return ToolingCommand.Fail("room-state", $"{state.Error!.ErrCode}: {state.Error.Error}");
        Console.WriteLine(state.Value.ToJson().ToJsonString(new JsonSerializerOptions(Domain.Events.MatrixJson.Options) { WriteIndented = !input.CompactFlag }));
        return true;
    });
}
