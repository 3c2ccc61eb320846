using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;

namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// What one check knows: the event, the room version, and the auth events the spec's "Auth events selection" picks
/// for it, each fetched once from the state. Nothing else of the state is read.
/// </summary>
internal sealed class AuthContext
{
    private PowerLevels? _powerLevels;

    private AuthContext(MatrixEvent ev, RoomVersion version, AuthEventSelection selection)
    {
        Event = ev;
        Version = version;
        Selection = selection;
    }

    public MatrixEvent Event { get; }
    public RoomVersion Version { get; }
    public AuthEventSelection Selection { get; }

    public MatrixEvent? Create { get; private init; }
    public MatrixEvent? PowerLevelsEvent { get; private init; }
    public MatrixEvent? SenderMember { get; private init; }

    /// <summary>For m.room.member: the target's current member event (same as <see cref="SenderMember"/> when sender = target).</summary>
    public MatrixEvent? TargetMember { get; private init; }

    public MatrixEvent? JoinRules { get; private init; }
    public MatrixEvent? ThirdPartyInvite { get; private init; }
    public MatrixEvent? AuthoriserMember { get; private init; }

    public string Sender => Event.Sender;

    /// <summary>The room creator: v1–v10 <c>content.creator</c> of m.room.create, v11+ its <c>sender</c> (v12: the first of the creators).</summary>
    public string Creator =>
        Version.UseRoomCreateSender ? Create!.Sender : Create!.ContentString("creator") ?? Create!.Sender;

    public PowerLevels PowerLevels => _powerLevels ??= PowerLevels.Current(PowerLevelsEvent, Create!, Version);

    public long LevelOf(string userId) => PowerLevels.UserLevel(userId);

    public string? SenderMembership => Membership.Of(SenderMember);
    public string? TargetMembership => Membership.Of(TargetMember);

    /// <summary>
    /// The room's join rule. A room without <c>m.room.join_rules</c> (or whose event has no <c>join_rule</c>) is
    /// treated as <c>invite</c>, as Synapse and gomatrixserverlib do; the spec names no default (Ruma refuses every
    /// non-creator join then).
    /// </summary>
    public string? JoinRule => JoinRules is null || !JoinRules.Content.ContainsKey("join_rule")
        ? JoinRuleValues.Invite
        : JoinRules.ContentString("join_rule");

    /// <summary>The join rule as explanations name it: "invite (the room has no m.room.join_rules event)" for the default.</summary>
    public string JoinRuleText => JoinRules is null ? "invite (the room has no m.room.join_rules event)" : JoinRule ?? "not valid";

    /// <summary>Fetches the selected auth events for <paramref name="ev"/> from <paramref name="state"/>.</summary>
    public static AuthContext Load(MatrixEvent ev, IAuthState state, RoomVersion version)
    {
        var selection = AuthEventSelection.For(ev, version);
        var senderMember = state.Get(new StateKey(EventTypes.Member, ev.Sender));
        var targetMember = MemberOf(selection.Target);
        return new AuthContext(ev, version, selection)
        {
            Create = state.Get(EventAuth.CreateKey),
            PowerLevelsEvent = state.Get(EventAuth.PowerLevelsKey),
            SenderMember = senderMember,
            TargetMember = targetMember,
            JoinRules = selection.JoinRules ? state.Get(EventAuth.JoinRulesKey) : null,
            ThirdPartyInvite = selection.ThirdPartyInviteToken is { } token
                ? state.Get(new StateKey(EventTypes.ThirdPartyInvite, token))
                : null,
            AuthoriserMember = selection.Authoriser == selection.Target ? targetMember : MemberOf(selection.Authoriser),
        };

        MatrixEvent? MemberOf(string? userId) =>
            userId is null ? null
            : userId == ev.Sender ? senderMember
            : state.Get(new StateKey(EventTypes.Member, userId));
    }

    /// <summary>The loaded auth events, for the room-id check.</summary>
    public IEnumerable<MatrixEvent> AuthEvents()
    {
        if (Create is not null) yield return Create;
        if (PowerLevelsEvent is not null) yield return PowerLevelsEvent;
        if (SenderMember is not null) yield return SenderMember;
        if (TargetMember is not null && !ReferenceEquals(TargetMember, SenderMember)) yield return TargetMember;
        if (JoinRules is not null) yield return JoinRules;
        if (ThirdPartyInvite is not null) yield return ThirdPartyInvite;
        if (AuthoriserMember is not null && !ReferenceEquals(AuthoriserMember, SenderMember)) yield return AuthoriserMember;
    }
}

/// <summary>
/// Spec (server-server API) "Auth events selection": besides m.room.create, m.room.power_levels and the sender's
/// m.room.member, a member event also needs the target's member event, the join rules (join, invite, knock), the
/// m.room.third_party_invite named by <c>signed.token</c> (invite with <c>third_party_invite</c>), and the member
/// event of <c>join_authorised_via_users_server</c> (join, in versions with restricted rooms).
/// </summary>
internal readonly record struct AuthEventSelection(string? Target, bool JoinRules, string? ThirdPartyInviteToken, string? Authoriser)
{
    public static AuthEventSelection For(MatrixEvent ev, RoomVersion? version)
    {
        if (ev.Type != EventTypes.Member || ev.StateKey is null) return default;
        var membership = ev.ContentString("membership");
        var joinRules = membership is Memberships.Join or Memberships.Invite or Memberships.Knock;
        var token = (ev as MemberEvent)?.ThirdPartyInviteToken;
        var authoriser = membership == Memberships.Join && (version is null || version.RestrictedJoinRule)
            ? ev.ContentString("join_authorised_via_users_server")
            : null;
        return new AuthEventSelection(ev.StateKey, joinRules, token, authoriser);
    }
}

/// <summary>The join rules the spec defines (m.room.join_rules <c>join_rule</c>).</summary>
public static class JoinRuleValues
{
    public const string Public = "public";
    public const string Invite = "invite";
    public const string Knock = "knock";
    public const string Restricted = "restricted";
    public const string KnockRestricted = "knock_restricted";
    public const string Private = "private";
}

/// <summary>Membership helpers shared by the rules and their explanations.</summary>
internal static class Membership
{
    /// <summary>The <c>membership</c> of a member event; null when there is no event ("never in the room").</summary>
    public static string? Of(MatrixEvent? memberEvent) => memberEvent?.ContentString("membership");

    /// <summary>"@bob:x is banned from the room", "@bob:x is not in the room", …</summary>
    public static string Describe(string userId, string? membership) => membership switch
    {
        Memberships.Join => $"{userId} is already in the room",
        Memberships.Invite => $"{userId} is invited to the room",
        Memberships.Ban => $"{userId} is banned from the room",
        Memberships.Knock => $"{userId} has knocked on the room",
        Memberships.Leave => $"{userId} has left the room",
        null => $"{userId} is not in the room",
        _ => $"{userId} has the membership '{membership}'",
    };

    /// <summary>Nothing for a user with no member event, else " (their membership is leave)" and the like.</summary>
    public static string Suffix(string? membership) => membership is null ? "" : $" (their membership is {membership})";

    /// <summary>"joined", "invited", "banned", "knocking", "left", "not in the room".</summary>
    public static string State(string? membership) => membership switch
    {
        Memberships.Join => "joined",
        Memberships.Invite => "invited",
        Memberships.Ban => "banned",
        Memberships.Knock => "knocking",
        Memberships.Leave => "left",
        null => "not in the room",
        _ => $"'{membership}'",
    };

    public static string? ServerOf(string userId) => UserId.ServerOf(userId);
}
