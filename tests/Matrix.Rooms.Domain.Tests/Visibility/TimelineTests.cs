using Matrix.Rooms.Domain.Visibility;

namespace Matrix.Rooms.Domain.Tests.Visibility;

public class TimelineTests
{
    [Fact]
    public void Visibility_before_and_after_a_position()
    {
        var timeline = new VisibilityValueTimeline(
        [
            new VisibilityChange(10, HistoryVisibility.Joined),
            new VisibilityChange(20, HistoryVisibility.WorldReadable),
        ]);

        timeline.Before(5).Should().Be(HistoryVisibility.Shared);
        timeline.Before(10).Should().Be(HistoryVisibility.Shared);
        timeline.After(10).Should().Be(HistoryVisibility.Joined);
        timeline.Before(15).Should().Be(HistoryVisibility.Joined);
        timeline.After(15).Should().Be(HistoryVisibility.Joined);
        timeline.Before(20).Should().Be(HistoryVisibility.Joined);
        timeline.After(20).Should().Be(HistoryVisibility.WorldReadable);
        timeline.Before(long.MaxValue).Should().Be(HistoryVisibility.WorldReadable);
        timeline.Current.Should().Be(HistoryVisibility.WorldReadable);
        VisibilityValueTimeline.Empty.Current.Should().Be(HistoryVisibility.Shared);
    }

    [Fact]
    public void Membership_before_after_and_later_joins()
    {
        var timeline = new UserMembershipTimeline(
        [
            new MembershipChange(3, MembershipState.Invite),
            new MembershipChange(5, MembershipState.Join),
            new MembershipChange(9, MembershipState.Leave),
        ]);

        timeline.Before(3).Should().Be(MembershipState.None);
        timeline.After(3).Should().Be(MembershipState.Invite);
        timeline.Before(5).Should().Be(MembershipState.Invite);
        timeline.After(5).Should().Be(MembershipState.Join);
        timeline.Before(9).Should().Be(MembershipState.Join);
        timeline.Current.Should().Be(MembershipState.Leave);
        timeline.LastJoinPosition.Should().Be(5);

        timeline.JoinedAtOrAfter(0).Should().BeTrue();
        timeline.JoinedAtOrAfter(5).Should().BeTrue();
        timeline.JoinedAtOrAfter(8).Should().BeTrue();   // still joined just after 8
        timeline.JoinedAtOrAfter(9).Should().BeFalse();  // left at 9, never back
        timeline.JoinedAtOrAfter(100).Should().BeFalse();

        var stillJoined = new UserMembershipTimeline([new MembershipChange(5, MembershipState.Join)]);
        stillJoined.JoinedAtOrAfter(1_000_000).Should().BeTrue("a current join counts as joining after every event");
        UserMembershipTimeline.Empty.JoinedAtOrAfter(0).Should().BeFalse();
        UserMembershipTimeline.Empty.LastJoinPosition.Should().BeNull();
    }

    [Fact]
    public void Changes_may_come_in_any_order_but_not_two_at_one_position()
    {
        var timeline = new UserMembershipTimeline(
        [
            new MembershipChange(9, MembershipState.Leave),
            new MembershipChange(5, MembershipState.Join),
        ]);
        timeline.Changes.Select(c => c.Position).Should().Equal(5, 9);
        timeline.LastJoinPosition.Should().Be(5);

        var twoAtOnce = () => new VisibilityValueTimeline(
        [
            new VisibilityChange(4, HistoryVisibility.Joined),
            new VisibilityChange(4, HistoryVisibility.Shared),
        ]);
        twoAtOnce.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Projection_values_are_read_as_the_spec_says()
    {
        var visibility = VisibilityValueTimeline.From([(1L, "joined"), (2L, "nonsense"), (3L, null)]);
        visibility.Changes.Select(c => c.Value).Should().Equal(
            HistoryVisibility.Joined, HistoryVisibility.Shared, HistoryVisibility.Shared);

        var membership = UserMembershipTimeline.From([(1L, "invite"), (2L, "join"), (3L, "kicked?"), (4L, null)]);
        membership.Changes.Select(c => c.Membership).Should().Equal(
            MembershipState.Invite, MembershipState.Join, MembershipState.Leave, MembershipState.Leave);
    }
}
