using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using NodaTime;

namespace Matrix.Rooms.Domain.Tests.Rooms;

/// <summary>The client-server API's checks of state content (<see cref="StateContentRules"/>).</summary>
public class StateContentRulesTests
{
    private static JsonObject J(string json) => (JsonObject)JsonNode.Parse(json)!;

    [Theory]
    [InlineData("""{"membership":"invite"}""", null)]
    [InlineData("""{"membership":"join"}""", null)]
    [InlineData("""{"membership":"knock"}""", null)]
    [InlineData("""{"membership":"leave"}""", null)]
    [InlineData("""{"membership":"ban"}""", null)]
    [InlineData("""{"membership":"Join"}""", "M_BAD_JSON")]
    [InlineData("""{"membership":"kick"}""", "M_BAD_JSON")]
    [InlineData("""{"membership":null}""", "M_BAD_JSON")]
    [InlineData("""{"membership":["join"]}""", "M_BAD_JSON")]
    [InlineData("""{}""", "M_BAD_JSON")]
    public void Membership_is_one_of_the_specs_values(string content, string? errcode) =>
        StateContentRules.CheckMember(J(content))?.ErrCode.Should().Be(errcode);

    [Theory]
    [InlineData("""{}""", null, "")]
    [InlineData("""{"alias":null}""", null, "")]
    [InlineData("""{"alias":""}""", null, "")]
    [InlineData("""{"alias":"#a:x"}""", null, "#a:x")]
    [InlineData("""{"alias":"#a:x"}""", """{"alias":"#a:x"}""", "")]
    // As Synapse: an alt alias is new unless the current event's alt_aliases hold it (the current alias does not count).
    [InlineData("""{"alias":"#b:x","alt_aliases":["#a:x","#c:x","#b:x"]}""", """{"alias":"#a:x","alt_aliases":["#c:x"]}""", "#b:x #a:x")]
    [InlineData("""{"alt_aliases":["#a:x","#d:x"]}""", """{"alias":"#a:x","alt_aliases":"broken"}""", "#a:x #d:x")]
    public void New_aliases_are_the_changed_alias_and_the_alt_aliases_not_already_there(string content, string? current, string expected) =>
        StateContentRules.NewCanonicalAliases(J(content), current is null ? null : J(current)).Value.Should()
            .Equal(expected.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    [Theory]
    [InlineData("""{"alias":7}""")]
    [InlineData("""{"alias":"room"}""")]
    [InlineData("""{"alias":"#nodomain"}""")]
    [InlineData("""{"alt_aliases":"#a:x"}""")]
    [InlineData("""{"alt_aliases":[1]}""")]
    [InlineData("""{"alt_aliases":["#a:x","!room:x"]}""")]
    public void A_field_of_the_wrong_type_or_a_new_alias_outside_the_grammar_is_invalid_param(string content) =>
        StateContentRules.NewCanonicalAliases(J(content), null).Error!.ErrCode.Should().Be("M_INVALID_PARAM");

    [Fact]
    public void An_alias_already_present_is_not_checked_even_when_it_no_longer_parses() =>
        StateContentRules.NewCanonicalAliases(J("""{"alt_aliases":["odd"]}"""), J("""{"alt_aliases":["odd"]}""")).Value.Should().BeEmpty();

    [Fact]
    public void Every_new_alias_must_resolve_to_the_room()
    {
        var directory = new Dictionary<string, string> { ["#a:x"] = "!r:x", ["#b:x"] = "!other:x" };
        string? RoomOf(string alias) => directory.GetValueOrDefault(alias);
        StateContentRules.CheckAliasesPointTo(["#a:x"], "!r:x", RoomOf).Should().BeNull();
        StateContentRules.CheckAliasesPointTo(["#a:x", "#b:x"], "!r:x", RoomOf)!.ErrCode.Should().Be("M_BAD_ALIAS");
        StateContentRules.CheckAliasesPointTo(["#unknown:x"], "!r:x", RoomOf)!.Status.Should().Be(400);
    }

    [Fact]
    public void The_decider_refuses_a_set_state_member_event_outside_the_enum_with_400_before_the_rules()
    {
        const string room = "!room:example.org", alice = "@alice:example.org";
        var now = Instant.FromUnixTimeSeconds(1_700_000_000);
        var events = CreateRoomDecider.Decide(new CreateRoom { Creator = alice, RoomVersion = "10" }, room, now).Value;
        var state = DictionaryAuthState.FromEvents(events);
        var command = new SetRoomState { RoomId = room, Sender = alice, EventType = EventTypes.Member, StateKey = alice, Content = J("""{"membership":"sideways"}""") };

        var result = RoomDecider.Decide(command, RoomDecider.Draft(command, now), state, events[^1].EventId);

        (result.Error!.Status, result.Error.ErrCode).Should().Be((400, "M_BAD_JSON"));
    }
}
