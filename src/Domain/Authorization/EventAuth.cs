using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;

namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// The authorization rules of room versions 1–12 (spec "Room versions" → "Authorization rules"), applied to one event
/// against the room state before it. The dispatcher below follows the spec's numbered list in order; each concern
/// has its own file (<see cref="CreateRules"/>, <see cref="MemberRules"/>, <see cref="ThirdPartyInviteRules"/>,
/// <see cref="PowerLevelRules"/>, <see cref="RedactionRules"/>). Every decision names the rule that made it.
/// <para>
/// Events are taken as already signature-checked where a rule is about whole-event signatures ("Events must be
/// signed by the server denoted by the sender property", <c>join_authorised_via_users_server</c>). The
/// <c>third_party_invite.signed</c> block is verified here.
/// </para>
/// </summary>
public static class EventAuth
{
    public static readonly StateKey CreateKey = new(EventTypes.Create, "");
    public static readonly StateKey PowerLevelsKey = new(EventTypes.PowerLevels, "");
    public static readonly StateKey JoinRulesKey = new(EventTypes.JoinRules, "");

    /// <summary>The type the pre-v6 special case applies to.</summary>
    public const string AliasesType = "m.room.aliases";

    /// <summary>
    /// Checks <paramref name="ev"/> against <paramref name="state"/> under the room's version: the create event's
    /// <c>room_version</c> (the event's own when it is the create event; "1" when absent).
    /// </summary>
    public static AuthDecision Check(MatrixEvent ev, IAuthState state)
    {
        if (ev.Type == EventTypes.Create)
            return CreateRules.Check(ev, state, RoomVersion.Get(RoomVersionOf(ev)) ?? RoomVersion.V1);

        var create = state.Get(CreateKey);
        if (create is null) return NoCreate(ev);
        var versionId = RoomVersionOf(create);
        var version = RoomVersion.Get(versionId);
        if (version is null)
            return AuthDecision.Refuse(AuthRule.RoomVersionUnknown,
                $"The room {create.RoomId} has room version '{versionId}', which this server does not support");
        return Check(ev, state, version);
    }

    /// <summary>Checks <paramref name="ev"/> against <paramref name="state"/> under the given room version.</summary>
    public static AuthDecision Check(MatrixEvent ev, IAuthState state, RoomVersion version)
    {
        // Since v1: If type is m.room.create: … (rule 1)
        if (ev.Type == EventTypes.Create) return CreateRules.Check(ev, state, version);

        var ctx = AuthContext.Load(ev, state, version);

        // Since v1, considering the event's auth_events (rule 2). The auth events here are exactly the state entries
        // the selection algorithm names, looked up by (type, state_key): so there are no duplicates, no entries the
        // selection does not name, and no rejected ones (the state only holds accepted events).
        // Since v1: If there is no m.room.create event among the entries, reject.
        if (ctx.Create is null) return NoCreate(ev);

        // Since v12 (rule 2): If the event's room_id is not an event ID for an accepted (not rejected) m.room.create
        // event, with the sigil ! instead of $, reject. The state holds only accepted events.
        if (version.RoomIdIsCreateEventId && ev.RoomId != RoomId.FromCreateEventId(ctx.Create.EventId))
            return AuthDecision.Refuse(AuthRule.RoomIdNotCreateEvent,
                $"The event's room_id {Show(ev.RoomId)} is not the room's create event ID {ctx.Create.EventId} " +
                "with the sigil ! (in room version 12 the room ID is the create event's ID)");

        // Since v1: If any event in auth_events has a room_id which does not match that of the event being
        // authorised, reject. (v12: the create event is not among the auth events; rule 2 ties it to the room.)
        foreach (var authEvent in ctx.AuthEvents())
            if (!(version.RoomIdIsCreateEventId && ReferenceEquals(authEvent, ctx.Create)) && authEvent.RoomId != ev.RoomId)
                return AuthDecision.Refuse(AuthRule.AuthEventsRoomMismatch,
                    $"The event is for room {Show(ev.RoomId)}, but the room state it is checked against " +
                    $"({authEvent.Type} {authEvent.EventId}) belongs to room {Show(authEvent.RoomId)}");

        // Since v1: If the content of the m.room.create event in the room state has the property m.federate set to
        // false, and the sender domain of the event does not match the sender domain of the create event, reject.
        var createServer = UserId.ServerOf(ctx.Create.Sender);
        if (!Federates(ctx.Create) && UserId.ServerOf(ev.Sender) != createServer)
            return AuthDecision.Refuse(AuthRule.RoomNotFederated,
                $"The room {ev.RoomId} is not federated (m.federate is false): only users of {createServer} " +
                $"may take part, not {ev.Sender}");

        // v1–v5: If type is m.room.aliases: …
        if (version.SpecialCaseAliasesAuth && ev.Type == AliasesType) return CheckAliases(ev);

        // Since v1: If type is m.room.member: …
        if (ev.Type == EventTypes.Member) return MemberRules.Check(ctx);

        // Since v1: If the sender's current membership state is not join, reject.
        if (ctx.SenderMembership != Memberships.Join)
            return AuthDecision.Refuse(AuthRule.SenderNotJoined,
                $"{ev.Sender} cannot send {ev.Type} because they are not in the room" +
                Membership.Suffix(ctx.SenderMembership));

        var senderLevel = ctx.LevelOf(ev.Sender);

        // Since v1: If type is m.room.third_party_invite: Allow if and only if sender's current power level is
        // greater than or equal to the invite level.
        if (ev.Type == EventTypes.ThirdPartyInvite)
        {
            var inviteLevel = ctx.PowerLevels.Invite;
            return senderLevel >= inviteLevel
                ? AuthDecision.Allow(AuthRule.ThirdPartyInviteEventAllowed,
                    $"{ev.Sender} has power level {senderLevel}, at least the invite level {inviteLevel}")
                : AuthDecision.Refuse(AuthRule.ThirdPartyInviteEventPowerTooLow,
                    $"{ev.Sender} does not have a high enough power level to invite by third-party identifier " +
                    $"(has {senderLevel}, inviting needs {inviteLevel})");
        }

        // Since v1: If the event type's required power level is greater than the sender's power level, reject.
        var requiredLevel = ctx.PowerLevels.EventLevel(ev.Type, ev.IsState);
        if (requiredLevel > senderLevel)
            return AuthDecision.Refuse(AuthRule.EventPowerTooLow,
                $"{ev.Sender} does not have a high enough power level to send {ev.Type} " +
                $"{(ev.IsState ? "state" : "events")} (has {senderLevel}, needs {requiredLevel})");

        // Since v1: If the event has a state_key that starts with an @ and does not match the sender, reject.
        if (ev.StateKey is { } stateKey && stateKey.StartsWith('@') && stateKey != ev.Sender)
            return AuthDecision.Refuse(AuthRule.StateKeyIsOtherUser,
                $"{ev.Sender} cannot set the state key '{stateKey}' of {ev.Type}: " +
                "a state key starting with '@' belongs to that user");

        // Since v1: If type is m.room.power_levels: …
        if (ev.Type == EventTypes.PowerLevels) return PowerLevelRules.Check(ctx, senderLevel);

        // v1–v2: If type is m.room.redaction: … (from v3 only the shape of the event is checked here)
        if (ev.Type == EventTypes.Redaction) return RedactionRules.Check(ctx, senderLevel);

        // Since v1: Otherwise, allow.
        return ev.IsState
            ? AuthDecision.Allow(AuthRule.StateAllowed,
                $"{ev.Sender} is in the room and has power level {senderLevel}, enough to set {ev.Type} (needs {requiredLevel})")
            : AuthDecision.Allow(AuthRule.MessageAllowed,
                $"{ev.Sender} is in the room and has power level {senderLevel}, enough to send {ev.Type} (needs {requiredLevel})");
    }

    /// <summary>
    /// The state entries the rules may read for <paramref name="ev"/>: the spec's "Auth events selection"
    /// (<see cref="SelectAuthEvents"/>) plus, in v12, the m.room.create event its room_id names. None for
    /// m.room.create; else m.room.create, m.room.power_levels and the sender's m.room.member; for m.room.member also
    /// the target's member event, m.room.join_rules (membership join, invite or knock), the m.room.third_party_invite
    /// whose state_key is <c>third_party_invite.signed.token</c> (invite), and the member event of
    /// <c>join_authorised_via_users_server</c> (join). <see cref="Check(MatrixEvent, IAuthState)"/> reads nothing else.
    /// </summary>
    public static IReadOnlyList<StateKey> AuthEventKeys(MatrixEvent ev) => AuthEventKeys(ev, null);

    /// <summary>As <see cref="AuthEventKeys(MatrixEvent)"/>; with a version, the authorising user is named only where restricted rooms exist (v8+).</summary>
    public static IReadOnlyList<StateKey> AuthEventKeys(MatrixEvent ev, RoomVersion? version)
    {
        if (ev.Type == EventTypes.Create) return [];
        var selected = SelectAuthEvents(ev, version);
        if (selected.Count > 0 && selected[0] == CreateKey) return selected;
        // v12 selects no create event for auth_events, but the rules still read it (the room_id names it).
        return [CreateKey, .. selected];
    }

    /// <summary>
    /// Spec (server-server API) "Auth events selection": the (type, state_key) of the state events a new event's
    /// <c>auth_events</c> lists — empty for m.room.create; otherwise "depending on the room version, the
    /// m.room.create event" (every version but v12, where it "MUST NOT be selected"), the current m.room.power_levels,
    /// the sender's m.room.member, and for m.room.member the target's member event, m.room.join_rules (membership
    /// join, invite or knock), the m.room.third_party_invite whose state_key is <c>third_party_invite.signed.token</c>
    /// (invite), and the member event of <c>join_authorised_via_users_server</c> (join, in versions with restricted
    /// rooms). Each "if any": the caller keeps the keys the room's state has.
    /// </summary>
    public static IReadOnlyList<StateKey> SelectAuthEvents(MatrixEvent ev, RoomVersion? version)
    {
        if (ev.Type == EventTypes.Create) return [];
        var keys = new List<StateKey>(6);
        if (version is null || !version.RoomIdIsCreateEventId) keys.Add(CreateKey);
        keys.Add(PowerLevelsKey);
        keys.Add(new StateKey(EventTypes.Member, ev.Sender));
        var selection = AuthEventSelection.For(ev, version);
        AddMember(selection.Target);
        if (selection.JoinRules) keys.Add(JoinRulesKey);
        if (selection.ThirdPartyInviteToken is { } token) keys.Add(new StateKey(EventTypes.ThirdPartyInvite, token));
        AddMember(selection.Authoriser);
        return keys;

        void AddMember(string? userId)
        {
            if (userId is null) return;
            var key = new StateKey(EventTypes.Member, userId);
            if (!keys.Contains(key)) keys.Add(key);
        }
    }

    /// <summary>v1–v5: If type is m.room.aliases: the state key must be the sender's server name.</summary>
    private static AuthDecision CheckAliases(MatrixEvent ev)
    {
        // v1–v5: If event has no state_key, reject.
        if (ev.StateKey is null)
            return AuthDecision.Refuse(AuthRule.AliasesStateKeyMissing,
                "An m.room.aliases event must have a state_key (the server name whose aliases it lists)");

        // v1–v5: If sender's domain doesn't match state_key, reject.
        var senderServer = UserId.ServerOf(ev.Sender);
        if (senderServer != ev.StateKey)
            return AuthDecision.Refuse(AuthRule.AliasesStateKeyServerMismatch,
                $"{ev.Sender} can only set the m.room.aliases of their own server " +
                $"({senderServer ?? "none: the sender is not a valid user ID"}), not of '{ev.StateKey}'");

        // v1–v5: Otherwise, allow.
        return AuthDecision.Allow(AuthRule.AliasesAllowed,
            $"{ev.Sender} sets the m.room.aliases of their own server {senderServer}");
    }

    /// <summary>False only when the create event's content has <c>m.federate</c> set to <c>false</c>.</summary>
    private static bool Federates(MatrixEvent create) =>
        !(create.Content["m.federate"] is JsonValue federate && federate.TryGetValue<bool>(out var value) && !value);

    private static AuthDecision NoCreate(MatrixEvent ev) =>
        AuthDecision.Refuse(AuthRule.AuthEventsNoCreate,
            $"The room {Show(ev.RoomId)} has no m.room.create event, so no {ev.Type} event can be authorised in it");

    internal static string RoomVersionOf(MatrixEvent create) =>
        create.Content.TryGetPropertyValue("room_version", out var node)
            ? node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node?.ToJsonString() ?? "null"
            : "1";

    internal static string Show(string? value) => string.IsNullOrEmpty(value) ? "(none)" : value;
}
