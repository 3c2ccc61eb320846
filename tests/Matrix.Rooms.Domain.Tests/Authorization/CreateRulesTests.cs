using Matrix.Rooms.Domain.Tests.Support;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using NodaTime;
using static Matrix.Rooms.Domain.Tests.Support.TestRoom;

namespace Matrix.Rooms.Domain.Tests.Authorization;

/// <summary>Rule 1: "If type is m.room.create: …".</summary>
public class CreateRulesTests
{
    private static MatrixEvent Create(JsonObject content, string sender = Alice, string roomId = RoomId, string? stateKey = "") =>
        MatrixEvent.Create(EventTypes.Create, roomId, sender, stateKey, content, Instant.FromUnixTimeSeconds(1), "$create");

    public static TheoryData<string, string, string, string?, string> Cases() => new()
    {
        // content, sender, room ID, state key, rule
        { """{"creator":"@alice:example.org"}""", Alice, RoomId, "", AuthRule.CreateAllowed },
        { """{"creator":"@alice:example.org","room_version":"1"}""", Alice, RoomId, "", AuthRule.CreateAllowed },
        { """{"creator":"@alice:example.org","room_version":"10"}""", Alice, RoomId, "", AuthRule.CreateAllowed },
        { """{"room_version":"11"}""", Alice, RoomId, "", AuthRule.CreateAllowed },
        { """{"room_version":"10"}""", Alice, RoomId, "", AuthRule.CreateCreatorMissing },
        { """{}""", Alice, RoomId, "", AuthRule.CreateCreatorMissing },
        { """{"creator":"@alice:example.org","room_version":"13"}""", Alice, RoomId, "", AuthRule.CreateRoomVersionUnknown },
        { """{"creator":"@alice:example.org","room_version":"org.example.custom"}""", Alice, RoomId, "", AuthRule.CreateRoomVersionUnknown },
        { """{"creator":"@alice:example.org","room_version":10}""", Alice, RoomId, "", AuthRule.CreateRoomVersionUnknown },
        { """{"creator":"@alice:example.org","room_version":null}""", Alice, RoomId, "", AuthRule.CreateRoomVersionUnknown },
        { """{"creator":"@mallory:evil.example"}""", Mallory, RoomId, "", AuthRule.CreateRoomIdServerMismatch },
        { """{"creator":"alice"}""", "alice", RoomId, "", AuthRule.CreateSenderInvalid },
        { """{"creator":"@alice:example.org"}""", Alice, "room", "", AuthRule.CreateRoomIdInvalid },
        { """{"creator":"@alice:example.org"}""", Alice, RoomId, null, AuthRule.CreateStateKeyNotEmpty },
        { """{"creator":"@alice:example.org"}""", Alice, RoomId, "x", AuthRule.CreateStateKeyNotEmpty },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_create_event(string content, string sender, string roomId, string? stateKey, string rule)
    {
        var decision = EventAuth.Check(Create((JsonObject)JsonNode.Parse(content)!, sender, roomId, stateKey), DictionaryAuthState.Empty);

        decision.Rule.Should().Be(rule, decision.Explanation);
        decision.Allowed.Should().Be(rule == AuthRule.CreateAllowed);
    }

    [Fact]
    public void A_create_event_with_prev_events_is_refused()
    {
        var create = Create(new JsonObject { ["creator"] = Alice }) with { PrevEvents = ["$earlier"] };

        EventAuth.Check(create, DictionaryAuthState.Empty).Rule.Should().Be(AuthRule.CreateHasPrevEvents);
    }

    [Fact]
    public void A_room_takes_one_create_event()
    {
        var room = Created();

        room.Check(Create(new JsonObject { ["creator"] = Alice })).Should().Be(AuthDecision.Refuse(AuthRule.CreateNotFirstEvent,
            "The room !room:example.org already has an m.room.create event ($create:example.org); a create event must be the first event in the room"));
    }

    [Fact]
    public void The_version_passed_in_decides_whether_creator_is_needed()
    {
        var noCreator = Create(new JsonObject());

        EventAuth.Check(noCreator, DictionaryAuthState.Empty, RoomVersion.V11).Rule.Should().Be(AuthRule.CreateAllowed);
        EventAuth.Check(noCreator, DictionaryAuthState.Empty, RoomVersion.V10).Rule.Should().Be(AuthRule.CreateCreatorMissing);
        EventAuth.AuthEventKeys(noCreator).Should().BeEmpty();
    }
}
