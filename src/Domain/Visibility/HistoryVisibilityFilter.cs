using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Visibility;

/// <summary>
/// The spec's "Room History Visibility" server behaviour: may a user see an event? "The rules governing whether a
/// user is allowed to see an event depend on the state of the room <em>at that event</em>" — here, the state in force
/// when the event was sent (set by events strictly before it in the room's stream).
/// <para>
/// Everything is read from two step functions over stream positions (<see cref="VisibilityValueTimeline"/> for the
/// room, <see cref="UserMembershipTimeline"/> for the user), so one decision costs two or three binary searches and
/// no allocation, however long the room's history.
/// </para>
/// </summary>
public static class HistoryVisibilityFilter
{
    /// <summary>Whether the user whose membership timeline is given may see the event at <paramref name="position"/>.</summary>
    public static bool IsVisible(long position, VisibilitySubject subject,
        VisibilityValueTimeline visibility, UserMembershipTimeline membership) =>
        Decide(position, subject, visibility, membership).Allowed;

    /// <summary>As <see cref="IsVisible(long, VisibilitySubject, VisibilityValueTimeline, UserMembershipTimeline)"/>, with the rule that decided.</summary>
    public static VisibilityDecision Decide(long position, VisibilitySubject subject,
        VisibilityValueTimeline visibility, UserMembershipTimeline membership)
    {
        var visibilityBefore = visibility.Before(position);
        var membershipBefore = membership.Before(position);
        var before = Check(position, visibilityBefore, membershipBefore, membership);
        if (before != VisibilityRule.Denied)
            return new VisibilityDecision(before);

        var after = subject switch
        {
            // "For m.room.history_visibility events themselves, the user should be allowed to see the event if the
            // history_visibility before *or* after the event would allow them to see it."
            VisibilitySubject.HistoryVisibilityChange =>
                Check(position, visibility.After(position), membershipBefore, membership),

            // "Likewise, for the user's own m.room.member events, the user should be allowed to see the event if their
            // membership before *or* after the event would allow them to see it."
            VisibilitySubject.OwnMembershipChange =>
                Check(position, visibilityBefore, membership.After(position), membership),

            _ => VisibilityRule.Denied,
        };
        return new VisibilityDecision(after, ByStateAfterEvent: after != VisibilityRule.Denied);
    }

    /// <summary>The five steps for one (history visibility, membership) pair at the event.</summary>
    private static VisibilityRule Check(long position, HistoryVisibility visibility, MembershipState membershipAtEvent,
        UserMembershipTimeline membership)
    {
        // 1. If the history_visibility was set to world_readable, allow.
        if (visibility == HistoryVisibility.WorldReadable)
            return VisibilityRule.WorldReadable;

        // 2. If the user's membership was join, allow.
        if (membershipAtEvent == MembershipState.Join)
            return VisibilityRule.MemberJoined;

        // 3. If history_visibility was set to shared, and the user joined the room at any point after the event was
        //    sent, allow. ("Joined at any point after" = their membership is join at some later point, now included;
        //    a user who was kicked, banned or left does not see what was sent after that, unless they join again.)
        if (visibility == HistoryVisibility.Shared && membership.JoinedAtOrAfter(position))
            return VisibilityRule.SharedAndJoinedLater;

        // 4. If the user's membership was invite, and the history_visibility was set to invited, allow.
        if (membershipAtEvent == MembershipState.Invite && visibility == HistoryVisibility.Invited)
            return VisibilityRule.InvitedWhileInvited;

        // 5. Otherwise, deny.
        return VisibilityRule.Denied;
    }

    /// <summary>Which of the spec's kinds of event <paramref name="e"/> is for <paramref name="userId"/>.</summary>
    public static VisibilitySubject SubjectOf(MatrixEvent e, string userId) =>
        e.Type == EventTypes.HistoryVisibility && e.StateKey == "" ? VisibilitySubject.HistoryVisibilityChange
        : e.Type == EventTypes.Member && e.StateKey == userId ? VisibilitySubject.OwnMembershipChange
        : VisibilitySubject.Ordinary;

    /// <summary>
    /// The events of a page the user may see, in the page's order. Each event comes with its stream position; the
    /// timelines come from projections and must cover every position up to the newest event of the room.
    /// </summary>
    public static List<MatrixEvent> VisibleEvents(IEnumerable<(long Position, MatrixEvent Event)> page, string userId,
        VisibilityValueTimeline visibility, UserMembershipTimeline membership)
    {
        var visible = new List<MatrixEvent>();
        foreach (var (position, e) in page)
            if (IsVisible(position, SubjectOf(e, userId), visibility, membership))
                visible.Add(e);
        return visible;
    }

    /// <summary>
    /// The events of a room's whole timeline (in stream order; position = index) that the user may see. The user's
    /// current membership is their last member event in the list; none means they are peeking.
    /// </summary>
    public static List<MatrixEvent> VisibleEvents(IReadOnlyList<MatrixEvent> timeline, string userId)
    {
        var timelines = VisibilityTimeline.FromEvents(timeline, userId);
        var visible = new List<MatrixEvent>();
        for (var i = 0; i < timeline.Count; i++)
            if (timelines.IsVisible(i, SubjectOf(timeline[i], userId)))
                visible.Add(timeline[i]);
        return visible;
    }
}

/// <summary>Both inputs of the visibility rules for one (room, user): the room's visibility and the user's membership over time.</summary>
public sealed record VisibilityTimeline(VisibilityValueTimeline Visibility, UserMembershipTimeline Membership)
{
    public bool IsVisible(long position, VisibilitySubject subject) =>
        HistoryVisibilityFilter.IsVisible(position, subject, Visibility, Membership);

    public VisibilityDecision Decide(long position, VisibilitySubject subject) =>
        HistoryVisibilityFilter.Decide(position, subject, Visibility, Membership);

    /// <summary>
    /// Builds both timelines from a room's events in stream order; an event's position is its index in the list.
    /// Only <c>m.room.history_visibility</c> events with state key <c>""</c> and the user's own <c>m.room.member</c>
    /// events count.
    /// </summary>
    public static VisibilityTimeline FromEvents(IReadOnlyList<MatrixEvent> timeline, string userId)
    {
        var visibility = new List<VisibilityChange>();
        var membership = new List<MembershipChange>();
        for (var i = 0; i < timeline.Count; i++)
        {
            var e = timeline[i];
            switch (HistoryVisibilityFilter.SubjectOf(e, userId))
            {
                case VisibilitySubject.HistoryVisibilityChange:
                    visibility.Add(new VisibilityChange(i, HistoryVisibilities.Parse(e.ContentString("history_visibility"))));
                    break;
                case VisibilitySubject.OwnMembershipChange:
                    // A member event without a (string) membership is neither join nor invite: read it as leave.
                    membership.Add(new MembershipChange(i, MembershipStates.Parse(e.ContentString("membership") ?? "")));
                    break;
            }
        }
        return new VisibilityTimeline(new VisibilityValueTimeline(visibility), new UserMembershipTimeline(membership));
    }
}
