using Matrix.Rooms.Domain.Visibility;

namespace Matrix.Rooms.Domain.Tests.Visibility;

/// <summary>
/// The filter must not allocate per decision (a page filter runs on every read). Speed itself is measured in bench/,
/// not asserted here.
/// </summary>
public class VisibilityAllocationTests
{
    [Fact]
    public void Deciding_allocates_nothing()
    {
        var membership = new UserMembershipTimeline([new MembershipChange(5, MembershipState.Join), new MembershipChange(9, MembershipState.Leave)]);
        var visibility = new VisibilityValueTimeline([new VisibilityChange(3, HistoryVisibility.Joined)]);
        HistoryVisibilityFilter.Decide(7, VisibilitySubject.Ordinary, visibility, membership); // warm up

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var p = 0L; p < 1_000; p++)
            HistoryVisibilityFilter.Decide(p, (VisibilitySubject)(p % 3), visibility, membership);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
    }
}
