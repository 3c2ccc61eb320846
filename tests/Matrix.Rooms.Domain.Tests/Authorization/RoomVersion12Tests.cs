using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using NodaTime;
using static Matrix.Rooms.Domain.Tests.Support.TestRoom;

namespace Matrix.Rooms.Domain.Tests.Authorization;

/// <summary>Room version 12 (spec content/rooms/v12.md): room IDs from the create event, creators with infinite power.</summary>
public class RoomVersion12Tests
{
    private static readonly Instant Now = Instant.FromUtc(2025, 8, 1, 0, 0);

    private static MatrixEvent Create(JsonObject content, string roomId = "") =>
        MatrixEvent.Create(EventTypes.Create, roomId, Alice, "", content, Now, "$create");

    private static JsonObject V12(JsonNode? additionalCreators = null)
    {
        var content = new JsonObject { ["room_version"] = "12" };
        if (additionalCreators is not null) content["additional_creators"] = additionalCreators;
        return content;
    }

    [Fact]
    public void Rule_1_2_a_create_event_without_room_id_is_allowed_and_one_with_a_room_id_refused()
    {
        EventAuth.Check(Create(V12()), DictionaryAuthState.Empty).Rule.Should().Be(AuthRule.CreateAllowed);
        EventAuth.Check(Create(V12(), "!room:example.org"), DictionaryAuthState.Empty).Rule.Should().Be(AuthRule.CreateHasRoomId);
        EventAuth.Check(Create(new JsonObject { ["room_version"] = "11" }, "!room:example.org"), DictionaryAuthState.Empty)
            .Rule.Should().Be(AuthRule.CreateAllowed, "before v12 the create event carries its room_id");
    }

    [Theory]
    [InlineData("""["@bob:example.org","@carol:other.example"]""", AuthRule.CreateAllowed)]
    [InlineData("""[]""", AuthRule.CreateAllowed)]
    [InlineData("""["@:example.org","@\u00e9\u0007:example.org"]""", AuthRule.CreateAllowed)] // historical IDs pass the sender's validation
    [InlineData("""["bob"]""", AuthRule.CreateAdditionalCreatorsInvalid)]
    [InlineData("""["@bob"]""", AuthRule.CreateAdditionalCreatorsInvalid)]
    [InlineData("""[1]""", AuthRule.CreateAdditionalCreatorsInvalid)]
    [InlineData("""[null]""", AuthRule.CreateAdditionalCreatorsInvalid)]
    [InlineData("""["@b:x:y:z!"]""", AuthRule.CreateAdditionalCreatorsInvalid)]
    [InlineData("""{"@bob:example.org":1}""", AuthRule.CreateAdditionalCreatorsInvalid)]
    [InlineData("\"@bob:example.org\"", AuthRule.CreateAdditionalCreatorsInvalid)]
    public void Rule_1_4_additional_creators_must_be_an_array_of_user_ids(string additional, string rule) =>
        EventAuth.Check(Create(V12(JsonNode.Parse(additional))), DictionaryAuthState.Empty).Rule.Should().Be(rule);

    [Fact]
    public void Before_v12_additional_creators_is_not_checked()
    {
        var content = new JsonObject { ["room_version"] = "11", ["additional_creators"] = 5 };
        EventAuth.Check(Create(content, "!room:example.org"), DictionaryAuthState.Empty).Rule.Should().Be(AuthRule.CreateAllowed);
    }

    [Fact]
    public void Rule_2_the_room_id_must_be_the_create_event_id_with_the_bang_sigil()
    {
        var room = Created(RoomVersion.V12);
        room.Id.Should().Be("!create:example.org");

        room.Check(room.Message(Alice)).Rule.Should().Be(AuthRule.MessageAllowed);
        room.Check(room.Message(Alice) with { RoomId = "!room:example.org" }).Rule.Should().Be(AuthRule.RoomIdNotCreateEvent);
        room.Check(room.Message(Alice) with { RoomId = "" }).Rule.Should().Be(AuthRule.RoomIdNotCreateEvent);
    }

    [Fact]
    public void The_creator_has_infinite_power_whatever_the_power_levels_say()
    {
        var room = Created(RoomVersion.V12).Joined(Bob)
            .WithPowerLevels(new JsonObject
            {
                ["users"] = new JsonObject { [Bob] = PowerLevels.MaxCanonicalInteger },
                ["events"] = new JsonObject { ["m.room.name"] = PowerLevels.MaxCanonicalInteger },
                ["kick"] = PowerLevels.MaxCanonicalInteger,
            });

        room.Check(room.StateEvent(EventTypes.Name, Alice, new JsonObject { ["name"] = "n" })).Rule.Should().Be(AuthRule.StateAllowed);
        room.Check(room.Member(Alice, Bob, Memberships.Leave)).Rule.Should().Be(AuthRule.KickAllowed,
            "the creator outranks the highest level content can hold");
        room.Check(room.Member(Bob, Alice, Memberships.Leave)).Rule.Should().Be(AuthRule.KickTargetPowerTooHigh);
        room.Check(room.Member(Bob, Alice, Memberships.Ban)).Rule.Should().Be(AuthRule.BanTargetPowerTooHigh);
    }

    [Fact]
    public void Additional_creators_have_infinite_power_too_and_creators_are_equal()
    {
        var room = Created(RoomVersion.V12, createContent: V12(new JsonArray(Bob))).Joined(Bob, Carol)
            .WithPowerLevels(new JsonObject { ["users"] = new JsonObject { [Carol] = 100 } });

        room.Check(room.Member(Bob, Carol, Memberships.Ban)).Rule.Should().Be(AuthRule.BanAllowed);
        room.Check(room.Member(Carol, Bob, Memberships.Ban)).Rule.Should().Be(AuthRule.BanTargetPowerTooHigh);
        room.Check(room.Member(Alice, Bob, Memberships.Leave)).Rule.Should().Be(AuthRule.KickTargetPowerTooHigh,
            "two infinite levels are equal: neither creator may kick the other");
    }

    [Fact]
    public void Without_power_levels_only_the_creators_have_power()
    {
        var room = Created(RoomVersion.V12, createContent: V12(new JsonArray(Bob))).Joined(Bob, Carol);

        room.Check(room.Member(Bob, Carol, Memberships.Ban)).Rule.Should().Be(AuthRule.BanAllowed);
        room.Check(room.Member(Carol, Bob, Memberships.Ban)).Rule.Should().Be(AuthRule.BanPowerTooLow);
    }

    [Theory]
    [InlineData(Alice, AuthRule.PowerLevelsUsersContainsCreator)]
    [InlineData(Bob, AuthRule.PowerLevelsUsersContainsCreator)]
    [InlineData(Carol, AuthRule.PowerLevelsInitial)]
    public void Rule_10_4_power_levels_may_not_list_a_creator(string listed, string rule)
    {
        var room = Created(RoomVersion.V12, createContent: V12(new JsonArray(Bob))).Joined(Bob, Carol);

        room.Check(room.PowerLevelsEvent(new JsonObject { ["users"] = new JsonObject { [listed] = 50 } })).Rule.Should().Be(rule);
    }

    [Fact]
    public void Rule_10_4_applies_to_later_power_levels_and_not_before_v12()
    {
        var v12 = Created(RoomVersion.V12).WithPowerLevels(new JsonObject());
        v12.Check(v12.PowerLevelsEvent(new JsonObject { ["users"] = new JsonObject { [Alice] = 100 } }))
            .Rule.Should().Be(AuthRule.PowerLevelsUsersContainsCreator);

        var v11 = Created(RoomVersion.V11).WithPowerLevels(new JsonObject { ["users"] = new JsonObject { [Alice] = 100 } });
        v11.Check(v11.PowerLevelsEvent(new JsonObject { ["users"] = new JsonObject { [Alice] = 100 } }))
            .Rule.Should().Be(AuthRule.PowerLevelsAllowed);
    }

    [Fact]
    public void A_creators_power_cannot_be_taken_by_a_power_levels_event()
    {
        var room = Created(RoomVersion.V12).Joined(Bob)
            .WithPowerLevels(new JsonObject { ["users"] = new JsonObject { [Bob] = 100 }, ["users_default"] = -5 });

        room.Check(room.PowerLevelsEvent(new JsonObject { ["users"] = new JsonObject { [Bob] = 100 }, ["users_default"] = -5 }, Bob))
            .Rule.Should().Be(AuthRule.PowerLevelsAllowed);
        room.Check(room.Member(Bob, Alice, Memberships.Ban)).Rule.Should().Be(AuthRule.BanTargetPowerTooHigh);
    }

    [Fact]
    public void Auth_events_selection_leaves_out_the_create_event_only_in_v12()
    {
        var join = MatrixEvent.Create(EventTypes.Member, "!r", Bob, Bob, new JsonObject { ["membership"] = "join" }, Now);

        EventAuth.SelectAuthEvents(join, RoomVersion.V12).Should().Equal(
            EventAuth.PowerLevelsKey, new StateKey(EventTypes.Member, Bob), EventAuth.JoinRulesKey);
        EventAuth.SelectAuthEvents(join, RoomVersion.V11).Should().Equal(
            EventAuth.CreateKey, EventAuth.PowerLevelsKey, new StateKey(EventTypes.Member, Bob), EventAuth.JoinRulesKey);
        EventAuth.AuthEventKeys(join, RoomVersion.V12).Should().Contain(EventAuth.CreateKey, "the rules still read the create event");
        EventAuth.SelectAuthEvents(Create(V12()), RoomVersion.V12).Should().BeEmpty();
    }

    [Fact]
    public void Auth_events_selection_per_membership()
    {
        var via = new JsonObject { ["membership"] = "join", ["join_authorised_via_users_server"] = Carol };
        var join = MatrixEvent.Create(EventTypes.Member, "!r", Bob, Bob, via, Now);
        var invite = MatrixEvent.Create(EventTypes.Member, "!r", Alice, Bob, JsonNode.Parse(
            """{"membership":"invite","third_party_invite":{"signed":{"token":"tok","mxid":"@bob:example.org"}}}""")!.AsObject(), Now);
        var leave = MatrixEvent.Create(EventTypes.Member, "!r", Alice, Bob, new JsonObject { ["membership"] = "leave" }, Now);
        var message = MatrixEvent.Create(EventTypes.Message, "!r", Alice, null, new JsonObject(), Now);

        EventAuth.SelectAuthEvents(join, RoomVersion.V8).Should().Contain(new StateKey(EventTypes.Member, Carol));
        EventAuth.SelectAuthEvents(join, RoomVersion.V7).Should().NotContain(new StateKey(EventTypes.Member, Carol));
        EventAuth.SelectAuthEvents(invite, RoomVersion.V12).Should().Equal(EventAuth.PowerLevelsKey,
            new StateKey(EventTypes.Member, Alice), new StateKey(EventTypes.Member, Bob), EventAuth.JoinRulesKey,
            new StateKey(EventTypes.ThirdPartyInvite, "tok"));
        EventAuth.SelectAuthEvents(leave, RoomVersion.V1).Should().Equal(EventAuth.CreateKey, EventAuth.PowerLevelsKey,
            new StateKey(EventTypes.Member, Alice), new StateKey(EventTypes.Member, Bob));
        EventAuth.SelectAuthEvents(message, RoomVersion.V12).Should().Equal(EventAuth.PowerLevelsKey, new StateKey(EventTypes.Member, Alice));
    }

    [Fact]
    public void CreateRoom_at_v12_derives_the_room_id_from_the_create_events_reference_hash()
    {
        var command = new CreateRoom
        {
            Creator = Alice, RoomVersion = "12", Preset = Presets.TrustedPrivateChat, Invite = [Bob, Carol],
            CreationContent = new JsonObject { ["additional_creators"] = new JsonArray(Bob) },
        };

        var events = CreateRoomDecider.Decide(command, "!ignored:example.org", Now).Value;

        var create = events[0];
        Pdu.Of(create, RoomVersion.V12).ContainsKey("room_id").Should().BeFalse("the v12 create PDU has no room_id");
        create.EventId.Should().Be(EventHashes.EventId(Pdu.Of(create, RoomVersion.V12), RoomVersion.V12));
        EventHashes.ContentHashMatches(Pdu.Of(create, RoomVersion.V12)).Should().BeTrue();
        var roomId = CreateRoomDecider.RoomIdOf(events);
        roomId.Should().Be("!" + create.EventId[1..]).And.HaveLength(44);
        events.Should().OnlyContain(e => e.RoomId == roomId);
        var users = events.Single(e => e.Type == EventTypes.PowerLevels).Content["users"]!.AsObject();
        users.Select(u => u.Key).Should().Equal(Carol);

        // Every event passes the rules in order against the state the earlier ones made.
        var state = DictionaryAuthState.Empty;
        foreach (var ev in events)
        {
            EventAuth.Check(ev, state).Allowed.Should().BeTrue(ev.Type);
            state = state.Apply(ev);
        }
    }

    [Fact]
    public void CreateRoom_refuses_bad_additional_creators_and_a_creator_in_the_power_level_override_as_bad_params()
    {
        var bad = CreateRoomDecider.Decide(new CreateRoom
        {
            Creator = Alice, RoomVersion = "12", CreationContent = new JsonObject { ["additional_creators"] = "bob" },
        }, "!x:example.org", Now);
        bad.Error!.ErrCode.Should().Be("M_INVALID_PARAM");

        var listed = CreateRoomDecider.Decide(new CreateRoom
        {
            Creator = Alice, RoomVersion = "12",
            PowerLevelContentOverride = new JsonObject { ["users"] = new JsonObject { [Alice] = 100 } },
        }, "!x:example.org", Now);
        listed.Error!.ErrCode.Should().Be("M_INVALID_PARAM");
    }
}
