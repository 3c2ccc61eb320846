using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Visibility;

/// <summary>
/// A user's membership of a room as the visibility rules read it. <see cref="None"/> (the default) means the user has
/// no <c>m.room.member</c> event at that point: they were never in the room, invited or otherwise.
/// </summary>
public enum MembershipState : byte
{
    None = 0,
    Join = 1,
    Invite = 2,
    Leave = 3,
    Ban = 4,
    Knock = 5,
}

public static class MembershipStates
{
    /// <summary>
    /// The state a <c>membership</c> content value means. Null means "no member event" (<see cref="MembershipState.None"/>);
    /// a value this engine does not know is read as <see cref="MembershipState.Leave"/> — it is neither <c>join</c> nor
    /// <c>invite</c>, the only two values the visibility rules give access for.
    /// </summary>
    public static MembershipState Parse(string? membership) => membership switch
    {
        null => MembershipState.None,
        Memberships.Join => MembershipState.Join,
        Memberships.Invite => MembershipState.Invite,
        Memberships.Ban => MembershipState.Ban,
        Memberships.Knock => MembershipState.Knock,
        _ => MembershipState.Leave,
    };

    /// <summary>The wire value, or null for <see cref="MembershipState.None"/>.</summary>
    public static string? ToWire(this MembershipState membership) => membership switch
    {
        MembershipState.Join => Memberships.Join,
        MembershipState.Invite => Memberships.Invite,
        MembershipState.Leave => Memberships.Leave,
        MembershipState.Ban => Memberships.Ban,
        MembershipState.Knock => Memberships.Knock,
        _ => null,
    };
}
