namespace Matrix.Rooms.Domain.Visibility;

/// <summary>
/// The value of a room's <c>m.room.history_visibility</c> (spec "Room History Visibility").
/// <see cref="Shared"/> is the default value (<c>default(HistoryVisibility)</c>) because the spec says:
/// "By default if no <c>history_visibility</c> is set, or if the value is not understood, the visibility is assumed
/// to be <c>shared</c>."
/// </summary>
public enum HistoryVisibility : byte
{
    /// <summary>"Previous events are always accessible to newly joined members."</summary>
    Shared = 0,

    /// <summary>"All events while this is the value may be shared by any participating homeserver with anyone."</summary>
    WorldReadable = 1,

    /// <summary>"Events are accessible to newly joined members from the point they were invited onwards."</summary>
    Invited = 2,

    /// <summary>"Events are accessible to newly joined members from the point they joined the room onwards."</summary>
    Joined = 3,
}

public static class HistoryVisibilities
{
    public const string WorldReadableValue = "world_readable";
    public const string SharedValue = "shared";
    public const string InvitedValue = "invited";
    public const string JoinedValue = "joined";

    /// <summary>
    /// The visibility a content value means. Spec: "if no <c>history_visibility</c> is set, or if the value is not
    /// understood, the visibility is assumed to be <c>shared</c>" — so null, empty and unknown values give
    /// <see cref="HistoryVisibility.Shared"/>. Values are compared exactly (the spec's values are lower case).
    /// </summary>
    public static HistoryVisibility Parse(string? value) => value switch
    {
        WorldReadableValue => HistoryVisibility.WorldReadable,
        InvitedValue => HistoryVisibility.Invited,
        JoinedValue => HistoryVisibility.Joined,
        _ => HistoryVisibility.Shared,
    };

    /// <summary>The wire value (<c>world_readable</c>, <c>shared</c>, <c>invited</c>, <c>joined</c>).</summary>
    public static string ToWire(this HistoryVisibility visibility) => visibility switch
    {
        HistoryVisibility.WorldReadable => WorldReadableValue,
        HistoryVisibility.Invited => InvitedValue,
        HistoryVisibility.Joined => JoinedValue,
        _ => SharedValue,
    };
}
