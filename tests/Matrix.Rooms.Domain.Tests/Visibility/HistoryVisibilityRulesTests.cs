using Matrix.Rooms.Domain.Visibility;
using static Matrix.Rooms.Domain.Visibility.HistoryVisibility;
using static Matrix.Rooms.Domain.Visibility.MembershipState;
using static Matrix.Rooms.Domain.Visibility.VisibilityRule;
using static Matrix.Rooms.Domain.Visibility.VisibilitySubject;

namespace Matrix.Rooms.Domain.Tests.Visibility;

/// <summary>
/// The spec's five steps, one row per rule and boundary, on the timeline API. The event under test sits at position
/// 10; the "before" values are set at position 5, the "after" values (for the two before-or-after kinds of event) at
/// 10 itself, and a later join at 20.
/// </summary>
public class HistoryVisibilityRulesTests
{
    private const long At = 10;

    public static TheoryData<string, HistoryVisibility?, HistoryVisibility?, MembershipState, MembershipState?, bool, VisibilitySubject, VisibilityRule, bool> Rows => new()
    {
        // name, visibility before, visibility after (HV change), membership before, membership after (own member), joins later, subject, rule, by the state after
        { "1 world_readable allows a user who was never in the room", HistoryVisibility.WorldReadable, null, None, null, false, Ordinary, VisibilityRule.WorldReadable, false },
        { "1 world_readable allows a banned user", HistoryVisibility.WorldReadable, null, Ban, null, false, Ordinary, VisibilityRule.WorldReadable, false },
        { "2 join allows under joined", HistoryVisibility.Joined, null, Join, null, false, Ordinary, MemberJoined, false },
        { "2 join allows under invited", Invited, null, Join, null, false, Ordinary, MemberJoined, false },
        { "2 join allows under shared", Shared, null, Join, null, false, Ordinary, MemberJoined, false },
        { "3 shared allows a user who joins later", Shared, null, None, null, true, Ordinary, SharedAndJoinedLater, false },
        { "3 shared allows a user who had left and joins again", Shared, null, Leave, null, true, Ordinary, SharedAndJoinedLater, false },
        { "3 shared without a later join denies", Shared, null, None, null, false, Ordinary, Denied, false },
        { "3 shared denies a user who was kicked and never came back", Shared, null, Leave, null, false, Ordinary, Denied, false },
        { "3 shared denies a banned user", Shared, null, Ban, null, false, Ordinary, Denied, false },
        { "3 a later join does not help under invited", Invited, null, None, null, true, Ordinary, Denied, false },
        { "3 a later join does not help under joined", HistoryVisibility.Joined, null, None, null, true, Ordinary, Denied, false },
        { "4 invite allows under invited", Invited, null, Invite, null, false, Ordinary, InvitedWhileInvited, false },
        { "4 invite does not allow under joined", HistoryVisibility.Joined, null, Invite, null, false, Ordinary, Denied, false },
        { "4 invite does not allow under shared (an invite is not a join)", Shared, null, Invite, null, false, Ordinary, Denied, false },
        { "5 knock is not enough under invited", Invited, null, Knock, null, false, Ordinary, Denied, false },
        { "5 leave denies under joined", HistoryVisibility.Joined, null, Leave, null, false, Ordinary, Denied, false },

        // m.room.history_visibility events: before *or* after
        { "HV world_readable -> joined: visible by the value before", HistoryVisibility.WorldReadable, HistoryVisibility.Joined, None, null, false, HistoryVisibilityChange, VisibilityRule.WorldReadable, false },
        { "HV joined -> world_readable: visible by the value after", HistoryVisibility.Joined, HistoryVisibility.WorldReadable, None, null, false, HistoryVisibilityChange, VisibilityRule.WorldReadable, true },
        { "HV joined -> shared: visible after to a user who joins later", HistoryVisibility.Joined, Shared, None, null, true, HistoryVisibilityChange, SharedAndJoinedLater, true },
        { "HV invited -> joined: visible before to an invited user", Invited, HistoryVisibility.Joined, Invite, null, false, HistoryVisibilityChange, InvitedWhileInvited, false },
        { "HV joined -> invited: visible after to an invited user", HistoryVisibility.Joined, Invited, Invite, null, false, HistoryVisibilityChange, InvitedWhileInvited, true },
        { "HV joined -> invited: not visible to a user who was never there", HistoryVisibility.Joined, Invited, None, null, false, HistoryVisibilityChange, Denied, false },
        { "HV shared -> joined: not visible to a user who never joins", Shared, HistoryVisibility.Joined, None, null, false, HistoryVisibilityChange, Denied, false },

        // the user's own m.room.member events: membership before *or* after
        { "own join under joined: visible by the membership after", HistoryVisibility.Joined, null, None, Join, false, OwnMembershipChange, MemberJoined, true },
        { "own leave from join under joined: visible by the membership before", HistoryVisibility.Joined, null, Join, Leave, false, OwnMembershipChange, MemberJoined, false },
        { "own ban from join under joined: visible by the membership before", HistoryVisibility.Joined, null, Join, Ban, false, OwnMembershipChange, MemberJoined, false },
        { "own invite under invited: visible by the membership after", Invited, null, None, Invite, false, OwnMembershipChange, InvitedWhileInvited, true },
        { "own invite rejected under invited: visible by the membership before", Invited, null, Invite, Leave, false, OwnMembershipChange, InvitedWhileInvited, false },
        { "own invite under joined: not visible", HistoryVisibility.Joined, null, None, Invite, false, OwnMembershipChange, Denied, false },
        { "own invite rejected under joined: not visible (no special case for own leaves)", HistoryVisibility.Joined, null, Invite, Leave, false, OwnMembershipChange, Denied, false },
        { "own join under shared: visible (the membership after is join)", Shared, null, Leave, Join, false, OwnMembershipChange, SharedAndJoinedLater, false },
        { "own knock under shared, never joins: not visible", Shared, null, None, Knock, false, OwnMembershipChange, Denied, false },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_rule_decides_as_the_spec_says(string name, HistoryVisibility? visibilityBefore,
        HistoryVisibility? visibilityAfter, MembershipState membershipBefore, MembershipState? membershipAfter,
        bool joinsLater, VisibilitySubject subject, VisibilityRule rule, bool byStateAfter)
    {
        var visibility = new List<VisibilityChange>();
        if (visibilityBefore is { } vb) visibility.Add(new VisibilityChange(5, vb));
        if (visibilityAfter is { } va) visibility.Add(new VisibilityChange(At, va));

        var membership = new List<MembershipChange>();
        if (membershipBefore != None) membership.Add(new MembershipChange(5, membershipBefore));
        if (membershipAfter is { } ma) membership.Add(new MembershipChange(At, ma));
        if (joinsLater)
        {
            membership.Add(new MembershipChange(15, Leave));
            membership.Add(new MembershipChange(20, Join));
        }

        var decision = HistoryVisibilityFilter.Decide(At, subject,
            new VisibilityValueTimeline(visibility), new UserMembershipTimeline(membership));

        decision.Should().Be(new VisibilityDecision(rule, byStateAfter), name);
        HistoryVisibilityFilter.IsVisible(At, subject, new VisibilityValueTimeline(visibility),
            new UserMembershipTimeline(membership)).Should().Be(rule != Denied, name);
    }

    [Fact]
    public void Missing_visibility_is_shared()
    {
        var never = UserMembershipTimeline.Empty;
        var joinsLater = new UserMembershipTimeline([new MembershipChange(20, Join)]);

        HistoryVisibilityFilter.Decide(At, Ordinary, VisibilityValueTimeline.Empty, joinsLater).Rule.Should().Be(SharedAndJoinedLater);
        HistoryVisibilityFilter.Decide(At, Ordinary, VisibilityValueTimeline.Empty, never).Rule.Should().Be(Denied);
    }

    [Theory]
    [InlineData(null, Shared)]
    [InlineData("", Shared)]
    [InlineData("shared", Shared)]
    [InlineData("world_readable", HistoryVisibility.WorldReadable)]
    [InlineData("invited", Invited)]
    [InlineData("joined", HistoryVisibility.Joined)]
    [InlineData("WORLD_READABLE", Shared)]
    [InlineData("org.example.custom", Shared)]
    public void Unknown_visibility_values_are_shared(string? value, HistoryVisibility expected) =>
        HistoryVisibilities.Parse(value).Should().Be(expected);

    [Fact]
    public void The_join_that_counts_for_shared_may_be_at_the_event_or_now()
    {
        var visibility = VisibilityValueTimeline.Empty;

        // Joined at 3, still joined: every later event is seen by rule 2, every earlier one by rule 3.
        var stillJoined = new UserMembershipTimeline([new MembershipChange(3, Join)]);
        HistoryVisibilityFilter.Decide(1, Ordinary, visibility, stillJoined).Rule.Should().Be(SharedAndJoinedLater);
        HistoryVisibilityFilter.Decide(100, Ordinary, visibility, stillJoined).Rule.Should().Be(MemberJoined);

        // Joined at 3, left at 6: an event at 7 comes after the last time they were joined.
        var left = new UserMembershipTimeline([new MembershipChange(3, Join), new MembershipChange(6, Leave)]);
        HistoryVisibilityFilter.Decide(1, Ordinary, visibility, left).Rule.Should().Be(SharedAndJoinedLater,
            "they joined after the event, even though they are not joined now");
        HistoryVisibilityFilter.Decide(5, Ordinary, visibility, left).Rule.Should().Be(MemberJoined);
        HistoryVisibilityFilter.Decide(6, OwnMembershipChange, visibility, left).Rule.Should().Be(MemberJoined);
        HistoryVisibilityFilter.Decide(7, Ordinary, visibility, left).Rule.Should().Be(Denied);
    }
}
