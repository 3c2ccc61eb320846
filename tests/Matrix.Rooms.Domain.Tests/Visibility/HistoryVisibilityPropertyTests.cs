using Matrix.Rooms.Domain.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Visibility;
using static Matrix.Rooms.Domain.Tests.Support.TestRoom;

namespace Matrix.Rooms.Domain.Tests.Visibility;

/// <summary>Properties of the rules over random rooms (messages, visibility changes, Bob's and Carol's membership).</summary>
public class HistoryVisibilityPropertyTests
{
    /// <summary>One random step of a room: 0 = message, 1 = visibility change, 2 = Bob's membership, 3 = Carol's.</summary>
    public readonly record struct Step(int Kind, int Value);

    private static readonly string?[] VisibilityValues = ["world_readable", "shared", "invited", "joined", "org.example.unknown", null];
    private static readonly string[] MembershipValues = [Memberships.Join, Memberships.Invite, Memberships.Leave, Memberships.Ban, Memberships.Knock];

    private static readonly Gen<Step> StepGen =
        from kind in Gen.Choose(0, 3)
        from value in Gen.Choose(0, 5)
        select new Step(kind, value);

    private static Arbitrary<Step[]> Steps => Gen.ArrayOf(StepGen).ToArbitrary();

    private static IReadOnlyList<MatrixEvent> Build(IEnumerable<Step> steps, bool bobMayAppear = true) =>
        BuildRoom(steps, bobMayAppear).Events;

    private static TestRoom BuildRoom(IEnumerable<Step> steps, bool bobMayAppear = true)
    {
        var room = CreatedByAlice();
        var n = 0;
        foreach (var step in steps)
        {
            var name = $"e{n++}";
            switch (step.Kind)
            {
                case 0:
                    room.Text(name);
                    break;
                case 1:
                    room.HistoryVisibility(name, VisibilityValues[step.Value % VisibilityValues.Length]);
                    break;
                default:
                    var target = step.Kind == 2 && bobMayAppear ? Bob : Carol;
                    var membership = MembershipValues[step.Value % MembershipValues.Length];
                    room.Membership(name, membership is Memberships.Join or Memberships.Knock ? target : Alice, target, membership);
                    break;
            }
        }
        return room;
    }

    [Property(MaxTest = 300)]
    public Property A_user_never_joined_nor_invited_sees_exactly_the_world_readable_events() =>
        Prop.ForAll(Steps, steps =>
        {
            var timeline = Build(steps, bobMayAppear: false);
            var expected = new List<string>();
            var current = HistoryVisibility.Shared;
            foreach (var e in timeline)
            {
                if (e.Type == EventTypes.HistoryVisibility)
                {
                    var next = HistoryVisibilities.Parse(e.ContentString("history_visibility"));
                    if (current == HistoryVisibility.WorldReadable || next == HistoryVisibility.WorldReadable)
                        expected.Add(e.EventId);
                    current = next;
                }
                else if (current == HistoryVisibility.WorldReadable)
                {
                    expected.Add(e.EventId);
                }
            }
            return HistoryVisibilityFilter.VisibleEvents(timeline, Bob).Select(e => e.EventId).SequenceEqual(expected);
        });

    [Property(MaxTest = 300)]
    public Property Later_events_never_take_away_what_a_user_could_see() =>
        Prop.ForAll(Steps, Gen.Choose(0, 100).ToArbitrary(), (steps, cut) =>
        {
            var timeline = Build(steps);
            var prefix = timeline.Take(Math.Min(cut, timeline.Count)).ToList();
            var visibleInPrefix = HistoryVisibilityFilter.VisibleEvents(prefix, Bob).Select(e => e.EventId);
            var visibleInWhole = HistoryVisibilityFilter.VisibleEvents(timeline, Bob).Select(e => e.EventId).ToHashSet();
            return visibleInPrefix.All(visibleInWhole.Contains);
        });

    [Property(MaxTest = 300)]
    public Property A_user_joined_now_under_shared_only_sees_everything() =>
        Prop.ForAll(Steps, steps =>
        {
            // Only messages and Carol's membership: the visibility stays shared; Bob joins at the end.
            var room = BuildRoom(steps.Where(s => s.Kind is 0 or 3)).Join("bob_join", Bob);
            return HistoryVisibilityFilter.VisibleEvents(room.Events, Bob).Count == room.Events.Count;
        });

    [Property(MaxTest = 300)]
    public Property The_timeline_filter_agrees_with_a_direct_reading_of_the_spec() =>
        Prop.ForAll(Steps, steps =>
        {
            var timeline = Build(steps);
            var fast = HistoryVisibilityFilter.VisibleEvents(timeline, Bob).Select(e => e.EventId);
            var direct = timeline.Where((_, i) => DirectlyVisible(timeline, i, Bob)).Select(e => e.EventId);
            return fast.SequenceEqual(direct);
        });

    [Property(MaxTest = 200)]
    public Property Positions_need_not_be_contiguous() =>
        Prop.ForAll(Steps, Gen.Choose(1, 1000).ToArbitrary(), (steps, stride) =>
        {
            var timeline = Build(steps);
            var page = timeline.Select((e, i) => (Position: -500L + (long)stride * i, Event: e)).ToList();
            var visibility = new VisibilityValueTimeline(page
                .Where(p => HistoryVisibilityFilter.SubjectOf(p.Event, Bob) == VisibilitySubject.HistoryVisibilityChange)
                .Select(p => new VisibilityChange(p.Position, HistoryVisibilities.Parse(p.Event.ContentString("history_visibility")))));
            var membership = new UserMembershipTimeline(page
                .Where(p => HistoryVisibilityFilter.SubjectOf(p.Event, Bob) == VisibilitySubject.OwnMembershipChange)
                .Select(p => new MembershipChange(p.Position, MembershipStates.Parse(p.Event.ContentString("membership")))));
            return HistoryVisibilityFilter.VisibleEvents(page, Bob, visibility, membership)
                .SequenceEqual(HistoryVisibilityFilter.VisibleEvents(timeline, Bob));
        });

    /// <summary>The spec's list read literally, scanning the room for each event (quadratic; an oracle for the tests).</summary>
    private static bool DirectlyVisible(IReadOnlyList<MatrixEvent> timeline, int index, string user)
    {
        string? VisibilityBefore(int i) => timeline.Take(i)
            .LastOrDefault(e => e.Type == EventTypes.HistoryVisibility && e.StateKey == "")?.ContentString("history_visibility") ?? "shared";
        string? MembershipBefore(int i) => timeline.Take(i)
            .LastOrDefault(e => e.Type == EventTypes.Member && e.StateKey == user)?.ContentString("membership");
        static string Normalise(string? v) => v is "world_readable" or "shared" or "invited" or "joined" ? v : "shared";

        // "the user joined the room at any point after the event was sent": a join at or after it, or still joined
        // from before it with no change in between (so joined at the next instant).
        var joinedAfter = timeline.Skip(index).Any(e => e.Type == EventTypes.Member && e.StateKey == user && e.ContentString("membership") == "join")
                          || (MembershipBefore(index + 1) == "join");

        bool Allowed(string visibility, string? membership) =>
            visibility == "world_readable"
            || membership == "join"
            || (visibility == "shared" && joinedAfter)
            || (membership == "invite" && visibility == "invited");

        var e = timeline[index];
        var visBefore = Normalise(VisibilityBefore(index));
        var memBefore = MembershipBefore(index);
        if (Allowed(visBefore, memBefore)) return true;
        if (e.Type == EventTypes.HistoryVisibility && e.StateKey == "")
            return Allowed(Normalise(e.ContentString("history_visibility")), memBefore);
        if (e.Type == EventTypes.Member && e.StateKey == user)
            return Allowed(visBefore, e.ContentString("membership"));
        return false;
    }
}
