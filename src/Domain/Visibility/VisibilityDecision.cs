namespace Matrix.Rooms.Domain.Visibility;

/// <summary>What kind of event is being checked: the spec gives two kinds of event a "before or after" rule.</summary>
public enum VisibilitySubject : byte
{
    /// <summary>Any event other than the two below: the rules read the state in force when it was sent.</summary>
    Ordinary = 0,

    /// <summary>An <c>m.room.history_visibility</c> event (state key <c>""</c>): the value before <em>or</em> after it may allow.</summary>
    HistoryVisibilityChange = 1,

    /// <summary>The user's own <c>m.room.member</c> event: their membership before <em>or</em> after it may allow.</summary>
    OwnMembershipChange = 2,
}

/// <summary>The step of the spec's server-behaviour list that decided (numbered as in the spec).</summary>
public enum VisibilityRule : byte
{
    /// <summary>1. "If the <c>history_visibility</c> was set to <c>world_readable</c>, allow."</summary>
    WorldReadable = 1,

    /// <summary>2. "If the user's <c>membership</c> was <c>join</c>, allow."</summary>
    MemberJoined = 2,

    /// <summary>3. "If <c>history_visibility</c> was set to <c>shared</c>, and the user joined the room at any point after the event was sent, allow."</summary>
    SharedAndJoinedLater = 3,

    /// <summary>4. "If the user's <c>membership</c> was <c>invite</c>, and the <c>history_visibility</c> was set to <c>invited</c>, allow."</summary>
    InvitedWhileInvited = 4,

    /// <summary>5. "Otherwise, deny."</summary>
    Denied = 5,
}

/// <summary>
/// Whether a user may see an event, and why: the rule that decided and whether it was the state <em>after</em> the
/// event (for the two kinds of event where the spec allows either) that allowed it.
/// </summary>
public readonly record struct VisibilityDecision(VisibilityRule Rule, bool ByStateAfterEvent = false)
{
    public bool Allowed => Rule != VisibilityRule.Denied;

    public override string ToString()
    {
        var text = Rule switch
        {
            VisibilityRule.WorldReadable => "allowed (1): the history_visibility was world_readable",
            VisibilityRule.MemberJoined => "allowed (2): the user's membership was join",
            VisibilityRule.SharedAndJoinedLater => "allowed (3): history_visibility was shared and the user joined the room after the event",
            VisibilityRule.InvitedWhileInvited => "allowed (4): the user's membership was invite and history_visibility was invited",
            _ => "denied (5): no rule allows it",
        };
        return ByStateAfterEvent ? text + " (by the state after the event)" : text;
    }
}
