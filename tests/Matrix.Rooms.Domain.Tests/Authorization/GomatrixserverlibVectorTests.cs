using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Conformance;
using Matrix.Rooms.Domain.Tests.Conformance;

namespace Matrix.Rooms.Domain.Tests.Authorization;

/// <summary>
/// Every event of the gomatrixserverlib conformance vectors (12 cases, 29 allowed, 40 refused) gets the spec's answer.
/// Where a vector disagrees with the spec the spec wins, and the vector is listed in
/// <see cref="AuthCheckSuite.SpecOverrides"/> (and docs/authorization.md).
/// </summary>
public class GomatrixserverlibVectorTests
{
    private static readonly Lazy<AuthCheckReport> Report = new(() => AuthCheckSuite.Run(AuthCheckVectors.Load()));

    public static TheoryData<string, string, int> VectorEvents()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var r in Report.Value.Results) data.Add(r.Case, r.List, r.Index);
        return data;
    }

    [Theory]
    [MemberData(nameof(VectorEvents))]
    public void Each_vector_event_gets_the_spec_answer(string caseName, string list, int index)
    {
        var result = Report.Value.Results.Single(r => r.Case == caseName && r.List == list && r.Index == index);

        result.Decision.Allowed.Should().Be(result.ExpectedBySpec,
            $"{caseName} {list}[{index}] {result.EventId} was {result.Decision}");
        result.Decision.Explanation.Should().NotBeNullOrWhiteSpace();
    }

    [Fact]
    public void All_69_vector_events_pass()
    {
        var report = Report.Value;

        report.Results.Should().HaveCount(69);
        report.Results.Count(r => r.ExpectedAllowed).Should().Be(29);
        report.Results.Count(r => !r.ExpectedAllowed).Should().Be(40);
        report.Results.Select(r => r.Case).Distinct().Should().HaveCount(12);
        report.Failed.Should().Be(0, string.Join("\n", AuthCheckSuite.Format(report).Where(l => l.StartsWith("FAIL"))));
        AuthCheckSuite.Format(report)[^1].Should().Be("69 passed, 0 failed");
    }

    [Fact]
    public void Only_the_documented_vectors_follow_the_spec_instead_of_their_list()
    {
        var disagreements = Report.Value.Results.Where(r => !r.AgreesWithList).ToList();

        disagreements.Select(r => (r.Case, r.List, r.Index)).Should().BeEquivalentTo(
            AuthCheckSuite.SpecOverrides.Select(o => (o.Case, o.List, o.Index)));
        disagreements.Should().OnlyContain(r => r.SpecOverride != null && r.Decision.Rule == r.SpecOverride.SpecRule);
    }

    [Fact]
    public void The_creator_joined_by_someone_else_right_after_create_is_allowed_as_the_spec_says()
    {
        // gomatrixserverlib TestAllowedFirstJoin not_allowed[6]: "The sender doesn't match the joining user".
        // Spec (every version), m.room.member, join: "If the only previous event is an m.room.create and the
        // state_key is the creator, allow." comes before "If the sender does not match state_key, reject."
        var result = Report.Value.Results.Single(r => r is { Case: "TestAllowedFirstJoin", List: "not_allowed", Index: 6 });

        result.ExpectedAllowed.Should().BeFalse();
        result.Decision.Should().Be(AuthDecision.Allow(AuthRule.JoinCreatorFirstJoin,
            "@u1:a created the room and joins it right after its m.room.create event"));
    }

    [Fact]
    public void The_repository_copy_of_the_vectors_equals_the_shared_original()
    {
        var shared = AuthCheckVectors.SharedOriginal;
        if (shared is null) return; // the repository was cloned without the shared design folder next to it

        File.ReadAllText(AuthCheckVectors.RepositoryCopy).Should().Be(File.ReadAllText(shared));
    }

    [Theory]
    [InlineData("TestAllowedEmptyRoom", "not_allowed", 0, AuthRule.CreateRoomIdServerMismatch)]
    [InlineData("TestAllowedEmptyRoom", "not_allowed", 1, AuthRule.CreateHasPrevEvents)]
    [InlineData("TestAllowedEmptyRoom", "not_allowed", 2, AuthRule.AuthEventsNoCreate)]
    [InlineData("TestAllowedEmptyRoom", "not_allowed", 3, AuthRule.AuthEventsNoCreate)]
    [InlineData("TestAllowedEmptyRoom", "not_allowed", 4, AuthRule.CreateSenderInvalid)]
    [InlineData("TestAllowedEmptyRoom", "not_allowed", 5, AuthRule.CreateRoomIdInvalid)]
    [InlineData("TestAllowedEmptyRoom", "not_allowed", 6, AuthRule.CreateStateKeyNotEmpty)]
    [InlineData("TestAllowedEmptyRoom", "not_allowed", 7, AuthRule.CreateStateKeyNotEmpty)]
    [InlineData("TestAllowedFirstJoin", "allowed", 0, AuthRule.JoinCreatorFirstJoin)]
    [InlineData("TestAllowedFirstJoin", "not_allowed", 0, AuthRule.SenderNotJoined)]
    [InlineData("TestAllowedFirstJoin", "not_allowed", 1, AuthRule.JoinNotInvited)]
    [InlineData("TestAllowedFirstJoin", "not_allowed", 2, AuthRule.MemberStateKeyMissing)]
    [InlineData("TestAllowedFirstJoin", "not_allowed", 3, AuthRule.JoinNotInvited)]
    [InlineData("TestAllowedFirstJoin", "not_allowed", 4, AuthRule.JoinNotInvited)]
    [InlineData("TestAllowedFirstJoin", "not_allowed", 5, AuthRule.JoinNotInvited)]
    [InlineData("TestAllowedFirstJoin", "not_allowed", 7, AuthRule.InviteSenderNotJoined)]
    [InlineData("TestAllowedInviteFrom3PID", "allowed", 0, AuthRule.ThirdPartyInviteAllowed)]
    [InlineData("TestAllowedInviteFrom3PID", "not_allowed", 0, AuthRule.ThirdPartyInviteSignatureInvalid)]
    [InlineData("TestAllowedInviteFrom3PID", "not_allowed", 1, AuthRule.ThirdPartyInviteMxidMismatch)]
    [InlineData("TestAllowedInviteFrom3PID", "not_allowed", 2, AuthRule.ThirdPartyInviteUnknownToken)]
    [InlineData("TestAllowedNoFederation", "not_allowed", 0, AuthRule.RoomNotFederated)]
    [InlineData("TestAllowedWithPowerLevels", "not_allowed", 0, AuthRule.EventPowerTooLow)]
    [InlineData("TestAllowedWithPowerLevels", "not_allowed", 1, AuthRule.EventPowerTooLow)]
    [InlineData("TestAllowedWithPowerLevels", "not_allowed", 2, AuthRule.SenderNotJoined)]
    [InlineData("TestAllowedWithPowerLevels", "not_allowed", 3, AuthRule.AuthEventsRoomMismatch)]
    [InlineData("TestAllowedWithPowerLevels", "not_allowed", 4, AuthRule.StateKeyIsOtherUser)]
    [InlineData("TestRedactAllowed", "allowed", 0, AuthRule.RedactionSameDomain)]
    [InlineData("TestRedactAllowed", "allowed", 2, AuthRule.RedactionRedactLevel)]
    [InlineData("TestRedactAllowed", "not_allowed", 0, AuthRule.RedactionPowerTooLow)]
    [InlineData("TestRedactAllowed", "not_allowed", 1, AuthRule.SenderNotJoined)]
    [InlineData("TestRedactAllowed", "not_allowed", 2, AuthRule.RedactionRedactsInvalid)]
    [InlineData("TestRedactAllowed", "not_allowed", 3, AuthRule.RedactionRedactsMissing)]
    [InlineData("TestMembershipBanned", "allowed", 0, AuthRule.UnbanAllowed)]
    [InlineData("TestMembershipBanned", "allowed", 1, AuthRule.BanAllowed)]
    [InlineData("TestMembershipBanned", "not_allowed", 0, AuthRule.JoinBanned)]
    [InlineData("TestMembershipBanned", "not_allowed", 1, AuthRule.KnockBanned)]
    [InlineData("TestMembershipBanned", "not_allowed", 2, AuthRule.InviteTargetBanned)]
    [InlineData("TestJoinRuleKnock", "not_allowed", 2, AuthRule.KnockAlreadyMember)]
    [InlineData("TestJoinRuleKnockRestricted", "allowed", 2, AuthRule.JoinRestrictedAuthorised)]
    [InlineData("TestJoinRuleKnockRestricted", "not_allowed", 1, AuthRule.JoinRestrictedNoAuthoriser)]
    public void Each_vector_is_decided_by_the_expected_rule(string caseName, string list, int index, string rule)
    {
        var result = Report.Value.Results.Single(r => r.Case == caseName && r.List == list && r.Index == index);

        result.Decision.Rule.Should().Be(rule, result.Decision.Explanation);
    }
}
