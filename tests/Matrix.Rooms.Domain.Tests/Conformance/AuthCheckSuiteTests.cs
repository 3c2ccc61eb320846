using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Conformance;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Tests.Conformance;

/// <summary>The <c>auth-check</c> contract: results, printed lines, the closing line, single-event explanations.</summary>
public class AuthCheckSuiteTests
{
    private const string Create = """{"type":"m.room.create","state_key":"","sender":"@a:x","room_id":"!r:x","event_id":"$c","content":{"creator":"@a:x"}}""";
    private const string AliceJoined = """{"type":"m.room.member","state_key":"@a:x","sender":"@a:x","room_id":"!r:x","event_id":"$j","content":{"membership":"join"}}""";
    private const string Message = """{"type":"m.room.message","sender":"@a:x","room_id":"!r:x","event_id":"$m","content":{"body":"hi"}}""";
    private const string BobsMessage = """{"type":"m.room.message","sender":"@b:x","room_id":"!r:x","event_id":"$n","content":{"body":"hi"}}""";

    private static string Case(string name, string? version, string allowed, string notAllowed)
    {
        var roomVersion = version is null ? "" : $"\"room_version\":\"{version}\",";
        return $$$"""
                {"name":"{{{name}}}",{{{roomVersion}}}
                 "auth_events":{"create":{{{Create}}},"member":{"@a:x":{{{AliceJoined}}}}},
                 "allowed":[{{{allowed}}}],"not_allowed":[{{{notAllowed}}}]}
                """;
    }

    [Fact]
    public void Each_event_gets_a_line_and_the_last_line_counts()
    {
        // The second case lists Bob's message as allowed: a disagreement.
        var report = AuthCheckSuite.Run($"[{Case("ok", "10", Message, BobsMessage)},{Case("wrong", null, BobsMessage, "")}]");
        var lines = AuthCheckSuite.Format(report);

        report.Results.Should().HaveCount(3);
        (report.Passed, report.Failed, report.AllPassed).Should().Be((2, 1, false));
        lines.Should().HaveCount(4);
        lines[0].Should().Be("PASS ok (v10) allowed[0] $m m.room.message: allowed by message.allowed: " +
                             "@a:x is in the room and has power level 100, enough to send m.room.message (needs 0)");
        lines[1].Should().StartWith("PASS ok (v10) not_allowed[0] $n m.room.message: refused by sender.not-joined: ");
        lines[2].Should().StartWith("FAIL wrong (v1) allowed[0] $n m.room.message: refused by sender.not-joined: ")
            .And.EndWith("[expected allowed]");
        lines[^1].Should().Be("2 passed, 1 failed");
    }

    [Fact]
    public void The_room_version_comes_from_the_case_then_the_create_event_then_1()
    {
        var withCreateVersion = Case("v", null, Message, "").Replace("\"creator\":\"@a:x\"", "\"creator\":\"@a:x\",\"room_version\":\"7\"");

        AuthCheckSuite.Run($"[{withCreateVersion}]").Results.Single().RoomVersion.Should().Be("7");
        AuthCheckSuite.Run($"[{Case("v", null, Message, "")}]").Results.Single().RoomVersion.Should().Be("1");
        AuthCheckSuite.Run($"[{Case("v", "11", Message, "")}]").Results.Single().RoomVersion.Should().Be("11");
    }

    [Fact]
    public void Unknown_versions_and_malformed_events_are_refused_with_a_rule()
    {
        var report = AuthCheckSuite.Run(
            $"[{Case("future", "99", Message, "")},{Case("broken", "10", "", "\"not an event\", {\"type\":\"m.room.message\",\"origin_server_ts\":\"noon\"}")}]");

        report.Results.Select(r => r.Decision.Rule).Should().Equal(
            AuthRule.RoomVersionUnknown, AuthRule.EventMalformed, AuthRule.EventMalformed);
        report.Results.Select(r => r.Passed).Should().Equal(false, true, true);
    }

    [Fact]
    public void A_file_that_is_not_an_array_is_refused()
    {
        var act = () => AuthCheckSuite.Run("{}");

        act.Should().Throw<FormatException>();
    }

    [Fact]
    public void Spec_overrides_are_marked_and_count_as_passed()
    {
        var report = AuthCheckSuite.Run(AuthCheckVectors.Load());
        var lines = AuthCheckSuite.Format(report);

        lines.Where(l => l.StartsWith("SPEC ")).Should().ContainSingle()
            .Which.Should().StartWith("SPEC TestAllowedFirstJoin (v1) not_allowed[6] $e4:a m.room.member: allowed by member.join.creator-first-join");
        lines.Should().NotContain(l => l.StartsWith("FAIL "));
        lines[^1].Should().Be("69 passed, 0 failed");
        AuthCheckSuite.Run(AuthCheckVectors.Load(), []).Failed.Should().Be(1, "without the override the vector's list is expected");
    }

    [Fact]
    public void Explain_one_event_against_an_array_of_state_events()
    {
        var state = JsonNode.Parse($"[{Create},{AliceJoined}]");

        AuthCheckSuite.ExplainOne(state, JsonNode.Parse(Message)!.AsObject()).Rule.Should().Be(AuthRule.MessageAllowed);
        AuthCheckSuite.ExplainOne(state, JsonNode.Parse(BobsMessage)!.AsObject()).Should().Be(
            AuthDecision.Refuse(AuthRule.SenderNotJoined, "@b:x cannot send m.room.message because they are not in the room"));
        AuthCheckSuite.ExplainOne(state, JsonNode.Parse(Message)!.AsObject(), roomVersion: "13").Rule.Should().Be(AuthRule.RoomVersionUnknown);
    }

    [Fact]
    public void Explain_one_event_against_an_auth_events_object()
    {
        var invite = """{"type":"m.room.member","state_key":"@b:x","sender":"@a:x","room_id":"!r:x","event_id":"$i","content":{"membership":"invite"}}""";
        const string powerLevels = """{"type":"m.room.power_levels","sender":"@a:x","room_id":"!r:x","event_id":"$p","content":{"invite":101}}""";
        var state = JsonNode.Parse($$$"""{"create":{{{Create}}},"member":{"@a:x":{{{AliceJoined}}}},"power_levels":{{{powerLevels}}}}""");

        var decision = AuthCheckSuite.ExplainOne(state, JsonNode.Parse(invite)!.AsObject());

        decision.Rule.Should().Be(AuthRule.InvitePowerTooLow);
        decision.Explanation.Should().Be("@a:x does not have a high enough power level to invite @b:x (has 0, inviting needs 101)");
    }

    [Fact]
    public void Auth_events_slots_put_each_event_under_its_slot()
    {
        const string thirdPartyInvite = """{"type":"m.room.third_party_invite","sender":"@a:x","room_id":"!r:x","event_id":"$t","content":{}}""";
        var state = AuthCheckSuite.StateFrom(JsonNode.Parse($$$"""
            {"create":{"type":"m.room.create","sender":"@a:x","room_id":"!r:x","event_id":"$c","content":{}},
             "join_rules":{"type":"m.room.join_rules","sender":"@a:x","room_id":"!r:x","event_id":"$jr","content":{"join_rule":"public"}},
             "guest_access":{"type":"m.room.guest_access","sender":"@a:x","room_id":"!r:x","event_id":"$g","content":{"guest_access":"can_join"}},
             "history_visibility":{"type":"m.room.history_visibility","sender":"@a:x","room_id":"!r:x","event_id":"$h","content":{"history_visibility":"shared"}},
             "member":{"@a:x":{{{AliceJoined}}}},
             "third_party_invite":{"tok":{{{thirdPartyInvite}}}}}
            """));

        state.Select(kv => (kv.Key, kv.Value.EventId)).Should().BeEquivalentTo(new[]
        {
            (EventAuth.CreateKey, "$c"),
            (EventAuth.JoinRulesKey, "$jr"),
            (new StateKey(EventTypes.GuestAccess, ""), "$g"),
            (new StateKey(EventTypes.HistoryVisibility, ""), "$h"),
            (new StateKey(EventTypes.Member, "@a:x"), "$j"),
            (new StateKey(EventTypes.ThirdPartyInvite, "tok"), "$t"),
        });
    }
}
