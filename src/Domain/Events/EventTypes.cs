namespace Matrix.Rooms.Domain.Events;

/// <summary>The Matrix event types this engine gives a CLR type of their own (see <see cref="MatrixEvent"/>).</summary>
public static class EventTypes
{
    public const string Create = "m.room.create";
    public const string Member = "m.room.member";
    public const string PowerLevels = "m.room.power_levels";
    public const string JoinRules = "m.room.join_rules";
    public const string HistoryVisibility = "m.room.history_visibility";
    public const string GuestAccess = "m.room.guest_access";
    public const string ThirdPartyInvite = "m.room.third_party_invite";
    public const string Redaction = "m.room.redaction";
    public const string Message = "m.room.message";
    public const string Name = "m.room.name";
    public const string Topic = "m.room.topic";
    public const string CanonicalAlias = "m.room.canonical_alias";
}

public static class Memberships
{
    public const string Join = "join";
    public const string Invite = "invite";
    public const string Leave = "leave";
    public const string Ban = "ban";
    public const string Knock = "knock";
}
