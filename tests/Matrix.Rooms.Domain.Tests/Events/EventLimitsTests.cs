using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using NodaTime;

namespace Matrix.Rooms.Domain.Tests.Events;

/// <summary>Spec "Size limits", checked in the Domain so HTTP, the bus and import all obey them.</summary>
public class EventLimitsTests
{
    private const string RoomId = "!room:example.org";
    private const string Alice = "@alice:example.org";
    private static readonly Instant Now = Instant.FromUnixTimeSeconds(1_700_000_000);

    private static readonly DictionaryAuthState Room =
        DictionaryAuthState.FromEvents(CreateRoomDecider.Decide(new CreateRoom { RoomVersion = "10", Creator = Alice }, RoomId, Now).Value);

    private static Errors.Result<MatrixEvent> Decide(RoomCommand command) =>
        RoomDecider.Decide(command, RoomDecider.Draft(command, Now), Room, null);

    [Fact]
    public void An_event_over_64_KiB_is_M_TOO_LARGE()
    {
        var command = new SendRoomEvent
        {
            RoomId = RoomId, Sender = Alice, EventType = "m.room.message",
            Content = new JsonObject { ["msgtype"] = "m.text", ["body"] = new string('x', 70_000) },
        };
        var error = Decide(command).Error!;
        (error.Status, error.ErrCode).Should().Be((413, "M_TOO_LARGE"));
    }

    [Fact]
    public void An_event_just_under_the_limit_is_allowed()
    {
        var body = new string('x', EventLimits.MaxEventBytes - EventLimits.FederationAllowance - 400);
        Decide(new SendRoomEvent { RoomId = RoomId, Sender = Alice, EventType = "m.room.message",
            Content = new JsonObject { ["msgtype"] = "m.text", ["body"] = body } }).IsSuccess.Should().BeTrue();
    }

    [Theory]
    [InlineData(300, 1)]
    [InlineData(1, 300)]
    [InlineData(128, 1)] // 128 × 'é' = 256 bytes: the limit counts bytes, not characters
    public void Type_and_state_key_over_255_bytes_are_refused(int typeLength, int stateKeyLength)
    {
        var command = new SetRoomState
        {
            RoomId = RoomId, Sender = Alice, EventType = typeLength == 128 ? new string('é', 128) : new string('t', typeLength),
            StateKey = new string('k', stateKeyLength), Content = new JsonObject(),
        };
        Decide(command).Error!.ErrCode.Should().Be("M_INVALID_PARAM");
    }

    [Fact]
    public void Content_built_on_the_bus_obeys_the_json_policy()
    {
        Decide(new SendRoomEvent { RoomId = RoomId, Sender = Alice, EventType = "m.room.message",
            Content = new JsonObject { ["n"] = 0.5 } }).Error!.ErrCode.Should().Be("M_BAD_JSON");
        Decide(new SetRoomState { RoomId = RoomId, Sender = Alice, EventType = "m.room.topic", StateKey = "a\0b",
            Content = new JsonObject() }).Error!.ErrCode.Should().Be("M_BAD_JSON");
    }

    [Fact]
    public void CreateRoom_checks_initial_state_too()
    {
        var result = CreateRoomDecider.Decide(new CreateRoom
        {
            Creator = Alice,
            InitialState = [new InitialStateEvent("m.room.topic", new string('k', 256), new JsonObject { ["topic"] = "x" })],
        }, RoomId, Now);
        result.Error!.ErrCode.Should().Be("M_INVALID_PARAM");
    }
}
