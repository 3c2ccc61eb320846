using Matrix.Rooms.Domain.Tests.Support;
using System.Reflection;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using static Matrix.Rooms.Domain.Tests.Support.TestRoom;

namespace Matrix.Rooms.Domain.Tests.Authorization;

/// <summary>The rules every event goes through, the per-type rules for non-member events, and the room versions.</summary>
public class EventAuthTests
{
    private static RoomVersion V(string id) => RoomVersion.Get(id)!;

    // ── room versions as data ────────────────────────────────────────────────────────────────────────────────────

    [Theory]
    //            aliases redact floats canon  notif  knock  restr  kn-res int    sender inContent
    [InlineData("1", true, true, true, false, false, false, false, false, false, false, false)]
    [InlineData("2", true, true, true, false, false, false, false, false, false, false, false)]
    [InlineData("3", true, false, true, false, false, false, false, false, false, false, false)]
    [InlineData("4", true, false, true, false, false, false, false, false, false, false, false)]
    [InlineData("5", true, false, true, false, false, false, false, false, false, false, false)]
    [InlineData("6", false, false, false, true, true, false, false, false, false, false, false)]
    [InlineData("7", false, false, false, true, true, true, false, false, false, false, false)]
    [InlineData("8", false, false, false, true, true, true, true, false, false, false, false)]
    [InlineData("9", false, false, false, true, true, true, true, false, false, false, false)]
    [InlineData("10", false, false, false, true, true, true, true, true, true, false, false)]
    [InlineData("11", false, false, false, true, true, true, true, true, true, true, true)]
    public void Each_room_version_is_a_set_of_flags(string id, bool aliases, bool redaction, bool floats, bool canonical,
        bool notifications, bool knocking, bool restricted, bool knockRestricted, bool integers, bool createSender, bool redactsInContent)
    {
        var v = RoomVersion.Get(id)!;

        (v.Id, v.SpecialCaseAliasesAuth, v.SpecialCaseRedactionAuth, v.FloatPowerLevels, v.StrictCanonicalJson,
                v.NotificationsPowerLevels, v.AllowKnocking, v.RestrictedJoinRule, v.KnockRestrictedJoinRule,
                v.IntegerPowerLevelsOnly, v.UseRoomCreateSender, v.RedactsInContent)
            .Should().Be((id, aliases, redaction, floats, canonical, notifications, knocking, restricted, knockRestricted,
                integers, createSender, redactsInContent));
        v.EventIdsHaveDomain.Should().Be(id is "1" or "2");
    }

    [Theory]
    [InlineData("1", false, true, false, false, false, false, false)]
    [InlineData("3", false, true, false, false, false, false, false)]
    [InlineData("4", true, true, false, false, false, false, false)]
    [InlineData("6", true, false, false, false, false, false, false)]
    [InlineData("8", true, false, true, false, false, false, false)]
    [InlineData("9", true, false, true, true, false, false, false)]
    [InlineData("11", true, false, true, true, true, false, false)]
    [InlineData("12", true, false, true, true, true, true, true)]
    public void The_redaction_event_id_and_creator_flags(string id, bool urlSafeIds, bool aliases, bool allow, bool via,
        bool updatedRedaction, bool roomIdFromCreate, bool privilegedCreators)
    {
        var v = RoomVersion.Get(id)!;

        (v.UrlSafeEventIds, v.RedactionKeepsAliases, v.RedactionKeepsJoinRulesAllow, v.RedactionKeepsJoinAuthorisedVia,
                v.UpdatedRedactionRules, v.RoomIdIsCreateEventId, v.PrivilegedCreators)
            .Should().Be((urlSafeIds, aliases, allow, via, updatedRedaction, roomIdFromCreate, privilegedCreators));
    }

    [Fact]
    public void There_are_twelve_known_versions_and_v12_is_the_default()
    {
        RoomVersion.All.Select(v => v.Id).Should().Equal("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12");
        RoomVersion.Default.Should().BeSameAs(RoomVersion.V12, "the spec: servers SHOULD create rooms at v12 by default");
        RoomVersion.Get("13").Should().BeNull();
        RoomVersion.Get("org.matrix.msc1234").Should().BeNull();
        RoomVersion.Get(null).Should().BeNull();
    }

    [Fact]
    public void Without_room_version_the_room_is_version_1_and_an_unknown_version_refuses_everything()
    {
        var v1 = Empty(createContent: new JsonObject { ["creator"] = Alice }).Joined(Bob).WithJoinRule(JoinRuleValues.Public);
        var redaction = v1.Redaction(Bob, "$x:elsewhere.example");
        v1.Check(redaction).Rule.Should().Be(AuthRule.RedactionPowerTooLow, "the v1/v2 redaction rule applies");

        var unknown = Empty(createContent: new JsonObject { ["creator"] = Alice, ["room_version"] = "99" }).Joined(Alice);
        unknown.Check(unknown.Message(Alice)).Should().Be(AuthDecision.Refuse(AuthRule.RoomVersionUnknown,
            "The room !room:example.org has room version '99', which this server does not support"));
    }

    // ── rules every event goes through ──────────────────────────────────────────────────────────────────────────

    [Fact]
    public void No_create_event_no_room()
    {
        var room = Created();
        var message = room.Message(Alice);

        EventAuth.Check(message, DictionaryAuthState.Empty).Rule.Should().Be(AuthRule.AuthEventsNoCreate);
        EventAuth.Check(message, DictionaryAuthState.Empty, RoomVersion.V10).Rule.Should().Be(AuthRule.AuthEventsNoCreate);
    }

    [Fact]
    public void Auth_events_of_another_room_do_not_authorise()
    {
        var room = Created().Joined(Bob);
        var otherRoomsMember = room.Member(Bob, Bob, Memberships.Join) with { RoomId = "!other:example.org" };
        room.Put(otherRoomsMember);

        room.Check(room.Message(Bob)).Rule.Should().Be(AuthRule.AuthEventsRoomMismatch);
        room.Check(room.Message(Alice) with { RoomId = "!other:example.org" }).Rule.Should().Be(AuthRule.AuthEventsRoomMismatch);
        room.Check(room.Message(Alice)).Rule.Should().Be(AuthRule.MessageAllowed, "Bob's member event is not an auth event of Alice's message");
    }

    [Theory]
    [InlineData(false, Mallory, AuthRule.RoomNotFederated)]
    [InlineData(false, Bob, AuthRule.MessageAllowed)]
    [InlineData(true, Mallory, AuthRule.MessageAllowed)]
    [InlineData(null, Mallory, AuthRule.MessageAllowed)]
    public void M_federate_false_keeps_other_servers_out(bool? federate, string sender, string rule)
    {
        var content = new JsonObject { ["creator"] = Alice, ["room_version"] = "10" };
        if (federate is not null) content["m.federate"] = federate;
        var room = Created(RoomVersion.V10, createContent: content).Joined(sender);

        room.Check(room.Message(sender)).Rule.Should().Be(rule);
        if (rule == AuthRule.RoomNotFederated)
            room.Check(room.Member(sender, sender, Memberships.Leave)).Rule.Should().Be(rule, "membership events too");
    }

    public static TheoryData<string?, string> SenderMembershipCases() => new()
    {
        { null, AuthRule.SenderNotJoined },
        { Memberships.Invite, AuthRule.SenderNotJoined },
        { Memberships.Leave, AuthRule.SenderNotJoined },
        { Memberships.Ban, AuthRule.SenderNotJoined },
        { Memberships.Knock, AuthRule.SenderNotJoined },
        { Memberships.Join, AuthRule.MessageAllowed },
    };

    [Theory]
    [MemberData(nameof(SenderMembershipCases))]
    public void Only_joined_users_send_events(string? bob, string rule)
    {
        var room = Created();
        if (bob is not null) room.WithMembership(Bob, bob);

        room.Check(room.Message(Bob)).Rule.Should().Be(rule);
    }

    [Fact]
    public void An_invited_sender_is_told_why()
    {
        var room = Created().WithMembership(Bob, Memberships.Invite);

        room.Check(room.Message(Bob)).Explanation.Should().Be(
            "@bob:example.org cannot send m.room.message because they are not in the room (their membership is invite)");
    }

    // ── state events and messages ────────────────────────────────────────────────────────────────────────────────

    public static TheoryData<string, bool, long, string> RequiredLevelCases() => new()
    {
        // type, state?, Bob's level, rule — power levels: state_default 50, events_default 10, events: topic 20, reaction 60
        { EventTypes.Name, true, 49, AuthRule.EventPowerTooLow },
        { EventTypes.Name, true, 50, AuthRule.StateAllowed },
        { EventTypes.Topic, true, 20, AuthRule.StateAllowed },
        { EventTypes.JoinRules, true, 49, AuthRule.EventPowerTooLow },
        { EventTypes.HistoryVisibility, true, 50, AuthRule.StateAllowed },
        { EventTypes.GuestAccess, true, 10, AuthRule.EventPowerTooLow },
        { "m.room.encryption", true, 50, AuthRule.StateAllowed },
        { EventTypes.Message, false, 9, AuthRule.EventPowerTooLow },
        { EventTypes.Message, false, 10, AuthRule.MessageAllowed },
        { "m.reaction", false, 59, AuthRule.EventPowerTooLow },
        { "m.reaction", false, 60, AuthRule.MessageAllowed },
        { EventTypes.Topic, false, 20, AuthRule.MessageAllowed },
    };

    [Theory]
    [MemberData(nameof(RequiredLevelCases))]
    public void The_event_types_required_level(string type, bool isState, long bobLevel, string rule)
    {
        var room = Created().Joined(Bob).WithPowerLevels(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100, [Bob] = bobLevel },
            ["state_default"] = 50,
            ["events_default"] = 10,
            ["events"] = new JsonObject { [EventTypes.Topic] = 20, ["m.reaction"] = 60 },
        });

        var ev = isState ? room.StateEvent(type, Bob, new JsonObject()) : room.Event(type, Bob, null, new JsonObject());

        room.Check(ev).Rule.Should().Be(rule);
    }

    [Theory]
    [InlineData(Bob, Bob, AuthRule.StateAllowed)]
    [InlineData(Bob, Alice, AuthRule.StateKeyIsOtherUser)]
    [InlineData(Alice, Bob, AuthRule.StateKeyIsOtherUser)]
    [InlineData(Bob, "@", AuthRule.StateKeyIsOtherUser)]
    [InlineData(Bob, "bob", AuthRule.StateAllowed)]
    public void A_state_key_starting_with_at_belongs_to_that_user(string sender, string stateKey, string rule)
    {
        var room = Created().Joined(Bob).WithLevels((Bob, 100));

        room.Check(room.StateEvent("org.example.profile", sender, new JsonObject(), stateKey)).Rule.Should().Be(rule);
    }

    [Theory]
    [InlineData(0, 0, AuthRule.ThirdPartyInviteEventAllowed)]
    [InlineData(0, 50, AuthRule.ThirdPartyInviteEventPowerTooLow)]
    [InlineData(50, 50, AuthRule.ThirdPartyInviteEventAllowed)]
    public void Third_party_invites_need_the_invite_level_and_nothing_else(long bobLevel, long inviteLevel, string rule)
    {
        var room = Created().Joined(Bob).WithPowerLevels(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100, [Bob] = bobLevel },
            ["invite"] = inviteLevel,
            // "Allow if and only if sender's current power level is greater than or equal to the invite level": the
            // event type's own level is not consulted.
            ["events"] = new JsonObject { [EventTypes.ThirdPartyInvite] = 100 },
        });

        room.Check(room.StateEvent(EventTypes.ThirdPartyInvite, Bob, new JsonObject { ["display_name"] = "b...@e..." }, "tok"))
            .Rule.Should().Be(rule);
    }

    // ── m.room.aliases (special before v6) ──────────────────────────────────────────────────────────────────────

    [Theory]
    [InlineData("1", Mallory, "evil.example", AuthRule.AliasesAllowed)]
    [InlineData("5", Mallory, "evil.example", AuthRule.AliasesAllowed)]
    [InlineData("5", Mallory, "example.org", AuthRule.AliasesStateKeyServerMismatch)]
    [InlineData("5", Mallory, null, AuthRule.AliasesStateKeyMissing)]
    [InlineData("6", Mallory, "evil.example", AuthRule.SenderNotJoined)]
    [InlineData("6", Alice, "example.org", AuthRule.StateAllowed)]
    [InlineData("6", Bob, "example.org", AuthRule.EventPowerTooLow)]
    public void Aliases_are_a_servers_own_business_before_v6(string version, string sender, string? stateKey, string rule)
    {
        var room = Created(V(version)).Joined(Bob);

        room.Check(room.Event(EventAuth.AliasesType, sender, stateKey, new JsonObject { ["aliases"] = new JsonArray() }))
            .Rule.Should().Be(rule);
    }

    // ── m.room.redaction ─────────────────────────────────────────────────────────────────────────────────────────

    public static TheoryData<string, long, string, string, string> RedactionCases() => new()
    {
        // version, Bob's level, redaction event ID, redacted event ID, rule (redact level 50)
        { "1", 50, "$r:example.org", "$x:elsewhere.example", AuthRule.RedactionRedactLevel },
        { "1", 0, "$r:example.org", "$x:example.org", AuthRule.RedactionSameDomain },
        { "2", 0, "$r:example.org", "$x:elsewhere.example", AuthRule.RedactionPowerTooLow },
        // The v1–v2 rule compares the event IDs' domains, not the sender's (gomatrixserverlib uses the sender's).
        { "1", 0, "$r:elsewhere.example", "$x:elsewhere.example", AuthRule.RedactionSameDomain },
        { "1", 0, "$r:example.org", "$x", AuthRule.RedactionPowerTooLow },
        { "3", 0, "$r", "$x:elsewhere.example", AuthRule.RedactionAllowed },
        { "10", 0, "$r", "$x", AuthRule.RedactionAllowed },
        { "11", 0, "$r", "$x", AuthRule.RedactionAllowed },
        { "1", 100, "$r:example.org", "x", AuthRule.RedactionRedactsInvalid },
        { "10", 100, "$r", "not an event", AuthRule.RedactionRedactsInvalid },
    };

    [Theory]
    [MemberData(nameof(RedactionCases))]
    public void Redactions(string version, long bobLevel, string eventId, string redacts, string rule)
    {
        var room = Created(V(version)).Joined(Bob).WithLevels((Bob, bobLevel));

        var decision = room.Check(room.Redaction(Bob, redacts, eventId));

        decision.Rule.Should().Be(rule, decision.Explanation);
    }

    [Fact]
    public void From_v3_a_redaction_needs_only_its_event_level()
    {
        var room = Created(RoomVersion.V3).Joined(Bob).WithPowerLevels(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100 },
            ["redact"] = 100,
            ["events"] = new JsonObject { [EventTypes.Redaction] = 10 },
        });

        room.Check(room.Redaction(Bob, "$x")).Rule.Should().Be(AuthRule.EventPowerTooLow);
        room.WithLevels((Bob, 10));
        room.Check(room.Redaction(Bob, "$x")).Rule.Should().Be(AuthRule.RedactionAllowed, "the redact level is not considered");
    }

    [Fact]
    public void In_v11_redacts_is_read_from_content()
    {
        var room = Created(RoomVersion.V11).Joined(Bob);
        var topLevelOnly = room.Event(EventTypes.Redaction, Bob, null, new JsonObject()) with { Redacts = "$x" };
        var inContent = room.Event(EventTypes.Redaction, Bob, null, new JsonObject { ["redacts"] = "$x" });
        var v10 = Created(RoomVersion.V10).Joined(Bob);

        room.Check(inContent).Rule.Should().Be(AuthRule.RedactionAllowed);
        room.Check(topLevelOnly).Rule.Should().Be(AuthRule.RedactionAllowed, "a server may add the top-level copy too");
        room.Check(room.Event(EventTypes.Redaction, Bob, null, new JsonObject())).Rule.Should().Be(AuthRule.RedactionRedactsMissing);
        v10.Check(v10.Event(EventTypes.Redaction, Bob, null, new JsonObject { ["redacts"] = "$x" }))
            .Rule.Should().Be(AuthRule.RedactionRedactsMissing, "before v11 redacts is a top-level property");
    }

    // ── auth events selection ────────────────────────────────────────────────────────────────────────────────────

    public static TheoryData<string, string[]> SelectionCases() => new()
    {
        { "message by Bob", ["create", "power_levels", "member @bob"] },
        { "Bob joins", ["create", "power_levels", "member @bob", "join_rules"] },
        { "Bob joins via Carol", ["create", "power_levels", "member @bob", "join_rules", "member @carol"] },
        { "Alice invites Bob", ["create", "power_levels", "member @alice", "member @bob", "join_rules"] },
        { "Bob knocks", ["create", "power_levels", "member @bob", "join_rules"] },
        { "Alice kicks Bob", ["create", "power_levels", "member @alice", "member @bob"] },
        { "Alice bans Bob", ["create", "power_levels", "member @alice", "member @bob"] },
        { "Bob leaves", ["create", "power_levels", "member @bob"] },
        { "Alice sets the name", ["create", "power_levels", "member @alice"] },
    };

    [Theory]
    [MemberData(nameof(SelectionCases))]
    public void Auth_events_selection(string situation, string[] expected)
    {
        var room = Created();
        var ev = situation switch
        {
            "message by Bob" => room.Message(Bob),
            "Bob joins" => room.Member(Bob, Bob, Memberships.Join),
            "Bob joins via Carol" => room.Member(Bob, Bob, Memberships.Join, new JsonObject { ["join_authorised_via_users_server"] = Carol }),
            "Alice invites Bob" => room.Member(Alice, Bob, Memberships.Invite),
            "Bob knocks" => room.Member(Bob, Bob, Memberships.Knock),
            "Alice kicks Bob" => room.Member(Alice, Bob, Memberships.Leave),
            "Alice bans Bob" => room.Member(Alice, Bob, Memberships.Ban),
            "Bob leaves" => room.Member(Bob, Bob, Memberships.Leave),
            _ => room.StateEvent(EventTypes.Name, Alice, new JsonObject { ["name"] = "x" }),
        };

        EventAuth.AuthEventKeys(ev).Select(Show).Should().Equal(expected);
    }

    private static string Show(StateKey key) => key.Type switch
    {
        EventTypes.Member => "member " + key.Key.Split(':')[0],
        _ => key.Type["m.room.".Length..],
    };

    // ── every rule id is documented and stable ──────────────────────────────────────────────────────────────────

    [Fact]
    public void Rule_ids_are_unique_and_shaped_subject_dot_check()
    {
        var ids = AllRuleIds();

        ids.Should().OnlyHaveUniqueItems();
        ids.Should().OnlyContain(id => System.Text.RegularExpressions.Regex.IsMatch(id, "^[a-z-]+(\\.[a-z-]+)+$"));
    }

    internal static IReadOnlyList<string> AllRuleIds() =>
        typeof(AuthRule).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f is { IsLiteral: true, FieldType: var t } && t == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();
}
