using Matrix.Rooms.Domain.Tests.Support;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using static Matrix.Rooms.Domain.Tests.Support.TestRoom;

namespace Matrix.Rooms.Domain.Tests.Authorization;

/// <summary>Power level values per room version, the defaults, and the rules for changing m.room.power_levels.</summary>
public class PowerLevelRulesTests
{
    private static RoomVersion V(string id) => RoomVersion.Get(id)!;

    // ── reading values ───────────────────────────────────────────────────────────────────────────────────────────

    [Theory]
    [InlineData("50", "1", true, 50)]
    [InlineData("50", "10", true, 50)]
    [InlineData("-20", "11", true, -20)]
    [InlineData("\"50\"", "1", true, 50)]
    [InlineData("\"000100\"", "9", true, 100)]
    [InlineData("\" +100 \"", "9", true, 100)]
    [InlineData("\" -100 \"", "6", true, -100)]
    [InlineData("\"50\"", "10", false, 0)]
    [InlineData("\"50\"", "11", false, 0)]
    [InlineData("\"5.0\"", "1", false, 0)]
    [InlineData("\"fifty\"", "1", false, 0)]
    [InlineData("\"+-5\"", "1", false, 0)]
    [InlineData("\"\"", "1", false, 0)]
    [InlineData("50.57", "1", true, 50)]
    [InlineData("5.114698E4", "5", true, 51146)]
    [InlineData("-1.5", "5", true, -1)]
    [InlineData("50.57", "6", false, 0)]
    [InlineData("50.0", "10", false, 0)]
    [InlineData("9007199254740991", "10", true, 9007199254740991)]
    [InlineData("9007199254740992", "10", false, 0)]
    [InlineData("9007199254740992", "5", true, 9007199254740992)]
    [InlineData("\"9007199254740992\"", "9", false, 0)]
    [InlineData("true", "1", false, 0)]
    [InlineData("null", "1", false, 0)]
    [InlineData("{}", "1", false, 0)]
    public void A_level_is_read_as_the_room_version_allows(string json, string version, bool ok, long level)
    {
        PowerLevels.TryReadLevel(JsonNode.Parse(json), V(version), out var read).Should().Be(ok);
        if (ok) read.Should().Be(level);
    }

    [Fact]
    public void Without_a_power_levels_event_the_creator_has_100_and_state_needs_50()
    {
        var levels = PowerLevels.Defaults(Alice, RoomVersion.V10);

        levels.UserLevel(Alice).Should().Be(100);
        levels.UserLevel(Bob).Should().Be(0);
        (levels.StateDefault, levels.EventsDefault, levels.Ban, levels.Kick, levels.Redact, levels.Invite, levels.UsersDefault)
            .Should().Be((50L, 0L, 50L, 50L, 50L, 0L, 0L));
        levels.EventLevel(EventTypes.Name, isState: true).Should().Be(50);
        levels.EventLevel(EventTypes.Message, isState: false).Should().Be(0);
    }

    [Fact]
    public void Without_a_power_levels_event_only_the_creator_can_set_state()
    {
        // Current spec: "If there is no state_default in the m.room.power_levels event, or there is no
        // m.room.power_levels event, the state_default is 50" (the older "0" was removed, matrix-spec#1479).
        var room = Created().Joined(Bob);

        room.Check(room.StateEvent(EventTypes.Name, Bob, new JsonObject { ["name"] = "x" })).Rule
            .Should().Be(AuthRule.EventPowerTooLow);
        room.Check(room.PowerLevelsEvent(new JsonObject { ["users"] = new JsonObject { [Bob] = 100 } }, Bob)).Rule
            .Should().Be(AuthRule.EventPowerTooLow);
        room.Check(room.StateEvent(EventTypes.Name, Alice, new JsonObject { ["name"] = "x" })).Rule
            .Should().Be(AuthRule.StateAllowed);
        room.Check(room.Message(Bob)).Rule.Should().Be(AuthRule.MessageAllowed);
    }

    [Fact]
    public void With_a_power_levels_event_the_creator_is_just_another_user()
    {
        var room = Created().WithPowerLevels(new JsonObject { ["users_default"] = 10, ["users"] = new JsonObject { [Bob] = 60 } });
        var levels = PowerLevels.Current(room.State.Get(EventAuth.PowerLevelsKey), Alice, room.Version);

        levels.UserLevel(Alice).Should().Be(10);
        levels.UserLevel(Bob).Should().Be(60);
        levels.StateDefault.Should().Be(50);
    }

    [Fact]
    public void Event_levels_come_from_events_then_state_default_or_events_default()
    {
        var levels = PowerLevels.Read(new JsonObject
        {
            ["events"] = new JsonObject { [EventTypes.Topic] = 10, [EventTypes.Message] = 20 },
            ["state_default"] = 30,
            ["events_default"] = 5,
        }, RoomVersion.V10);

        levels.EventLevel(EventTypes.Topic, isState: true).Should().Be(10);
        levels.EventLevel(EventTypes.Message, isState: false).Should().Be(20);
        levels.EventLevel(EventTypes.Name, isState: true).Should().Be(30);
        levels.EventLevel("org.example.ping", isState: false).Should().Be(5);
    }

    // ── validity of a new m.room.power_levels event ─────────────────────────────────────────────────────────────

    public static TheoryData<string, string, string> ContentCases() => new()
    {
        // version, content, rule (for Alice, level 100, replacing {"users": {Alice: 100}})
        { "1", """{"users":{"@alice:example.org":100},"ban":"50","events":{"m.room.name":"50"}}""", AuthRule.PowerLevelsAllowed },
        { "9", """{"users":{"@alice:example.org":"100"},"kick":" 50 "}""", AuthRule.PowerLevelsAllowed },
        { "10", """{"users":{"@alice:example.org":100},"ban":"50"}""", AuthRule.PowerLevelsNotInteger },
        { "10", """{"users":{"@alice:example.org":100},"events":{"m.room.name":"50"}}""", AuthRule.PowerLevelsNotInteger },
        { "10", """{"users":{"@alice:example.org":100},"events":[]}""", AuthRule.PowerLevelsNotInteger },
        { "10", """{"users":{"@alice:example.org":100},"notifications":{"room":"50"}}""", AuthRule.PowerLevelsNotInteger },
        { "5", """{"users":{"@alice:example.org":100},"notifications":{"room":"lots"}}""", AuthRule.PowerLevelsAllowed },
        { "6", """{"users":{"@alice:example.org":100},"notifications":{"room":"lots"}}""", AuthRule.PowerLevelsInvalidValue },
        { "10", """{"users":{"@alice:example.org":"100"}}""", AuthRule.PowerLevelsUsersInvalid },
        { "1", """{"users":{"@alice:example.org":100,"bob":0}}""", AuthRule.PowerLevelsUsersInvalid },
        { "1", """{"users":[]}""", AuthRule.PowerLevelsUsersInvalid },
        { "1", """{"users":{"@alice:example.org":100,"@bob:example.org":"high"}}""", AuthRule.PowerLevelsUsersInvalid },
        { "1", """{"users":{"@alice:example.org":100},"ban":true}""", AuthRule.PowerLevelsInvalidValue },
        { "3", """{"users":{"@alice:example.org":100},"ban":49.9}""", AuthRule.PowerLevelsAllowed },
        { "7", """{"users":{"@alice:example.org":100},"ban":49.9}""", AuthRule.PowerLevelsInvalidValue },
    };

    [Theory]
    [MemberData(nameof(ContentCases))]
    public void The_new_content_must_hold_levels_of_the_room_versions_kind(string version, string content, string rule)
    {
        var room = Created(V(version)).WithLevels();

        var decision = room.Check(room.PowerLevelsEvent((JsonObject)JsonNode.Parse(content)!));

        decision.Rule.Should().Be(rule, decision.Explanation);
    }

    [Fact]
    public void The_first_power_levels_event_is_allowed_whatever_it_grants()
    {
        var room = Created();

        var decision = room.Check(room.PowerLevelsEvent(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100, [Bob] = 9000 },
            ["state_default"] = 1000,
        }));

        decision.Rule.Should().Be(AuthRule.PowerLevelsInitial);
    }

    // ── changing m.room.power_levels (Bob at 50 changes the room's levels) ──────────────────────────────────────

    private static readonly JsonObject Current = new()
    {
        ["users"] = new JsonObject { [Alice] = 100, [Bob] = 50, [Carol] = 50, [Dave] = 10 },
        ["ban"] = 50,
        ["state_default"] = 40,
        ["events"] = new JsonObject { [EventTypes.Name] = 50, [EventTypes.Topic] = 75, [EventTypes.PowerLevels] = 50 },
        ["notifications"] = new JsonObject { ["room"] = 50 },
    };

    public static TheoryData<string, string, string> ChangeCases() => new()
    {
        // description, change applied to the current content (see Change), rule
        { "nothing", "", AuthRule.PowerLevelsAllowed },
        { "lower ban", "ban=40", AuthRule.PowerLevelsAllowed },
        { "raise ban to own level", "ban=50", AuthRule.PowerLevelsAllowed },
        { "raise ban above own level", "ban=51", AuthRule.PowerLevelsFieldChangeTooHigh },
        { "add kick above own level", "kick=60", AuthRule.PowerLevelsFieldChangeTooHigh },
        { "add kick at its default", "kick=50", AuthRule.PowerLevelsAllowed },
        { "remove ban", "ban=-", AuthRule.PowerLevelsAllowed },
        { "add redact below", "redact=0", AuthRule.PowerLevelsAllowed },
        { "raise users_default above", "users_default=51", AuthRule.PowerLevelsFieldChangeTooHigh },
        { "lower an event level", "events.m.room.name=0", AuthRule.PowerLevelsAllowed },
        { "remove an event level at own level", "events.m.room.name=-", AuthRule.PowerLevelsAllowed },
        { "change an event level above own", "events.m.room.topic=50", AuthRule.PowerLevelsEventsChangeTooHigh },
        { "remove an event level above own", "events.m.room.topic=-", AuthRule.PowerLevelsEventsChangeTooHigh },
        { "add an event level above own", "events.org.example=51", AuthRule.PowerLevelsEventsChangeTooHigh },
        { "raise notifications above own", "notifications.room=60", AuthRule.PowerLevelsNotificationsChangeTooHigh },
        { "lower own level", "users.@bob:example.org=10", AuthRule.PowerLevelsAllowed },
        { "remove own level", "users.@bob:example.org=-", AuthRule.PowerLevelsAllowed },
        { "raise own level", "users.@bob:example.org=51", AuthRule.PowerLevelsUserLevelTooHigh },
        { "demote a peer", "users.@carol:example.org=0", AuthRule.PowerLevelsUserChangeForbidden },
        { "remove a peer", "users.@carol:example.org=-", AuthRule.PowerLevelsUserChangeForbidden },
        { "demote a superior", "users.@alice:example.org=0", AuthRule.PowerLevelsUserChangeForbidden },
        { "demote an inferior", "users.@dave:example.org=0", AuthRule.PowerLevelsAllowed },
        { "promote an inferior to own level", "users.@dave:example.org=50", AuthRule.PowerLevelsAllowed },
        { "promote an inferior above own level", "users.@dave:example.org=51", AuthRule.PowerLevelsUserLevelTooHigh },
        { "add a user at own level", "users.@erin:example.org=50", AuthRule.PowerLevelsAllowed },
    };

    [Theory]
    [MemberData(nameof(ChangeCases))]
    public void Changes_are_limited_to_levels_at_or_below_the_senders(string description, string change, string rule)
    {
        var room = Created(RoomVersion.V10).Joined(Bob).WithPowerLevels((JsonObject)Current.DeepClone());

        var decision = room.Check(room.PowerLevelsEvent(Change(change), Bob));

        decision.Rule.Should().Be(rule, $"{description}: {decision.Explanation}");
    }

    [Theory]
    [InlineData("5", AuthRule.PowerLevelsAllowed)]
    [InlineData("6", AuthRule.PowerLevelsNotificationsChangeTooHigh)]
    [InlineData("11", AuthRule.PowerLevelsNotificationsChangeTooHigh)]
    public void Notifications_are_limited_from_v6(string version, string rule)
    {
        var room = Created(V(version)).Joined(Bob).WithPowerLevels((JsonObject)Current.DeepClone());

        room.Check(room.PowerLevelsEvent(Change("notifications.room=60"), Bob)).Rule.Should().Be(rule);
    }

    [Fact]
    public void String_levels_in_the_current_event_compare_as_numbers()
    {
        var room = Created(RoomVersion.V9).Joined(Bob).WithPowerLevels(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = "100", [Bob] = "50" },
            ["ban"] = "75",
        });

        // ban stays 75 (written as a number now): not an alteration, although 75 is above Bob's level.
        room.Check(room.PowerLevelsEvent(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100, [Bob] = 50 },
            ["ban"] = 75,
        }, Bob)).Rule.Should().Be(AuthRule.PowerLevelsAllowed);
    }

    [Fact]
    public void Removing_an_entry_falls_back_to_users_default_even_above_the_sender()
    {
        // The spec compares users_default with the sender only when it is altered, and a removed users entry only by
        // its current value. So with users_default 75, Bob (50) may drop Dave's entry (10), and Dave then has 75.
        var room = Created().Joined(Bob).WithPowerLevels(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100, [Bob] = 50, [Dave] = 10 },
            ["users_default"] = 75,
        });
        var update = room.PowerLevelsEvent(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100, [Bob] = 50 },
            ["users_default"] = 75,
        }, Bob);

        room.Apply(update).Rule.Should().Be(AuthRule.PowerLevelsAllowed);
        PowerLevels.Read(update.Content, room.Version).UserLevel(Dave).Should().Be(75);
    }

    [Fact]
    public void Sending_power_levels_needs_their_own_event_level()
    {
        var room = Created().Joined(Bob).WithPowerLevels(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100, [Bob] = 60 },
            ["events"] = new JsonObject { [EventTypes.PowerLevels] = 100 },
        });

        room.Check(room.PowerLevelsEvent(new JsonObject { ["users"] = new JsonObject { [Alice] = 100, [Bob] = 60 } }, Bob))
            .Rule.Should().Be(AuthRule.EventPowerTooLow);
    }

    /// <summary>"" (no change), "ban=40", "ban=-" (remove), "events.m.room.name=0", "users.@bob:example.org=-".</summary>
    private static JsonObject Change(string change)
    {
        var content = (JsonObject)Current.DeepClone();
        if (change.Length == 0) return content;
        var (path, value) = (change[..change.IndexOf('=')], change[(change.IndexOf('=') + 1)..]);
        var dot = path.IndexOf('.');
        var target = dot < 0 ? content : (JsonObject)(content[path[..dot]] ??= new JsonObject());
        var key = dot < 0 ? path : path[(dot + 1)..];
        if (value == "-") target.Remove(key);
        else target[key] = long.Parse(value);
        return content;
    }
}
