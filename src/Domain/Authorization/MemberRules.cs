using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;

namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// Spec authorization rule "If type is m.room.member: …", one method per membership value, called from
/// <see cref="Check"/> in the spec's order. "Membership state" is the target's current membership; a user with no
/// member event has none (described as "not in the room").
/// </summary>
internal static class MemberRules
{
    public static AuthDecision Check(AuthContext ctx)
    {
        var ev = ctx.Event;

        // Since v1: If there is no state_key property, or no membership property in content, reject.
        if (ev.StateKey is null)
            return AuthDecision.Refuse(AuthRule.MemberStateKeyMissing,
                "An m.room.member event must have a state_key: the user whose membership it sets");
        var membership = ev.ContentString("membership");
        if (membership is null)
            return AuthDecision.Refuse(AuthRule.MemberMembershipMissing,
                $"The m.room.member event for {ev.StateKey} has no membership in its content");

        // The state_key of m.room.member is the user ID whose membership is set (client-server API).
        if (!UserId.IsValidHistorical(ev.StateKey))
            return AuthDecision.Refuse(AuthRule.MemberStateKeyInvalid,
                $"The state_key '{ev.StateKey}' of an m.room.member event must be a user ID");

        // Since v8: If content has a join_authorised_via_users_server key: If the event is not validly signed by
        // the homeserver of the user ID denoted by the key, reject. — Events reach the rules already
        // signature-checked, so this holds here.

        return membership switch
        {
            // Since v1: If membership is join: …
            Memberships.Join => Join(ctx),
            // Since v1: If membership is invite: …
            Memberships.Invite => Invite(ctx),
            // Since v1: If membership is leave: …
            Memberships.Leave => Leave(ctx),
            // Since v1: If membership is ban: …
            Memberships.Ban => Ban(ctx),
            // Since v7: If membership is knock: …
            Memberships.Knock when ctx.Version.AllowKnocking => Knock(ctx),
            // Since v1: Otherwise, the membership is unknown. Reject.
            _ => AuthDecision.Refuse(AuthRule.MemberMembershipUnknown,
                membership == Memberships.Knock
                    ? $"Knocking is not possible in {ctx.Version} (it needs room version 7 or later)"
                    : $"'{membership}' is not a membership the rules of {ctx.Version} know"),
        };
    }

    /// <summary>membership = join.</summary>
    private static AuthDecision Join(AuthContext ctx)
    {
        var ev = ctx.Event;
        var target = ev.StateKey!;

        // v1–v10: If the only previous event is an m.room.create and the state_key is the creator, allow.
        // Since v11: If the only previous event is an m.room.create and the state_key is the sender of the
        // m.room.create, allow.
        if (PrevEvents.Count(ev) == 1 && PrevEvents.IdAt(ev, 0) == ctx.Create!.EventId && target == ctx.Creator)
            return AuthDecision.Allow(AuthRule.JoinCreatorFirstJoin,
                $"{target} created the room and joins it right after its m.room.create event");

        // Since v1: If the sender does not match state_key, reject.
        if (ev.Sender != target)
            return AuthDecision.Refuse(AuthRule.JoinSenderNotTarget,
                $"{ev.Sender} cannot join the room on behalf of {target}: only a user can make themselves join");

        var current = ctx.TargetMembership;

        // Since v1: If the sender is banned, reject.
        if (current == Memberships.Ban)
            return AuthDecision.Refuse(AuthRule.JoinBanned, $"{target} is banned from the room");

        var joinRule = ctx.JoinRule;

        // v1–v6: If the join_rule is invite then allow if membership state is invite or join.
        // Since v7: If the join_rule is invite or knock then allow if membership state is invite or join.
        if (joinRule == JoinRuleValues.Invite || (ctx.Version.AllowKnocking && joinRule == JoinRuleValues.Knock))
            return current is Memberships.Invite or Memberships.Join
                ? AuthDecision.Allow(AuthRule.JoinInvited,
                    $"The room's join rule is {ctx.JoinRuleText} and {target} is {Membership.State(current)}")
                : AuthDecision.Refuse(AuthRule.JoinNotInvited,
                    $"{target} cannot join: the room's join rule is {ctx.JoinRuleText} and {target} has not been " +
                    $"invited{Membership.Suffix(current)}");

        // v8–v9: If the join_rule is restricted: …  Since v10: If the join_rule is restricted or knock_restricted: …
        if ((ctx.Version.RestrictedJoinRule && joinRule == JoinRuleValues.Restricted)
            || (ctx.Version.KnockRestrictedJoinRule && joinRule == JoinRuleValues.KnockRestricted))
            return RestrictedJoin(ctx, joinRule, current);

        // Since v1: If the join_rule is public, allow.
        if (joinRule == JoinRuleValues.Public)
            return AuthDecision.Allow(AuthRule.JoinPublic, $"The room is public, so {target} may join");

        // Since v1: Otherwise, reject.
        return AuthDecision.Refuse(AuthRule.JoinRuleForbids,
            joinRule is null
                ? $"{target} cannot join: the room's m.room.join_rules event has no valid join_rule"
                : $"{target} cannot join: the room's join rule '{joinRule}' does not allow joining in {ctx.Version}");
    }

    /// <summary>Since v8 (restricted), v10 (knock_restricted): joining through a member who may invite.</summary>
    private static AuthDecision RestrictedJoin(AuthContext ctx, string joinRule, string? current)
    {
        var target = ctx.Event.StateKey!;

        // Since v8: If membership state is join or invite, allow.
        if (current is Memberships.Join or Memberships.Invite)
            return AuthDecision.Allow(AuthRule.JoinRestrictedMember,
                $"The room's join rule is {joinRule} and {target} is {Membership.State(current)}");

        // Since v8: If the join_authorised_via_users_server key in content is not a user with sufficient permission
        // to invite other users or is not a joined member of the room, reject.
        var authoriser = ctx.Event.ContentString("join_authorised_via_users_server");
        if (authoriser is null)
            return AuthDecision.Refuse(AuthRule.JoinRestrictedNoAuthoriser,
                $"{target} cannot join: the room's join rule is {joinRule}, {target} is not invited, and no member " +
                "authorised the join (join_authorised_via_users_server is missing)");
        var authoriserMembership = Membership.Of(ctx.AuthoriserMember);
        if (authoriserMembership != Memberships.Join)
            return AuthDecision.Refuse(AuthRule.JoinRestrictedAuthoriserNotJoined,
                $"{target} cannot join: the user who authorised the join, {authoriser}, is not in the room" +
                Membership.Suffix(authoriserMembership));
        var authoriserLevel = ctx.LevelOf(authoriser);
        var inviteLevel = ctx.PowerLevels.Invite;
        if (authoriserLevel < inviteLevel)
            return AuthDecision.Refuse(AuthRule.JoinRestrictedAuthoriserPowerTooLow,
                $"{target} cannot join: the user who authorised the join, {authoriser}, may not invite " +
                $"(has power level {authoriserLevel}, inviting needs {inviteLevel})");

        // Since v8: Otherwise, allow.
        return AuthDecision.Allow(AuthRule.JoinRestrictedAuthorised,
            $"The room's join rule is {joinRule} and {authoriser}, a member who may invite, authorised {target} to join");
    }

    /// <summary>membership = invite.</summary>
    private static AuthDecision Invite(AuthContext ctx)
    {
        var ev = ctx.Event;
        var target = ev.StateKey!;

        // Since v1: If content has a third_party_invite property: …
        if (ev.Content.ContainsKey("third_party_invite")) return ThirdPartyInviteRules.Check(ctx);

        // Since v1: If the sender's current membership state is not join, reject.
        if (ctx.SenderMembership != Memberships.Join)
            return AuthDecision.Refuse(AuthRule.InviteSenderNotJoined,
                $"{ev.Sender} cannot invite {target} because {ev.Sender} is not in the room" +
                Membership.Suffix(ctx.SenderMembership));

        // Since v1: If target user's current membership state is join or ban, reject.
        var current = ctx.TargetMembership;
        if (current == Memberships.Join)
            return AuthDecision.Refuse(AuthRule.InviteTargetJoined, $"{target} is already in the room");
        if (current == Memberships.Ban)
            return AuthDecision.Refuse(AuthRule.InviteTargetBanned, $"{target} is banned from the room");

        // Since v1: If the sender's power level is greater than or equal to the invite level, allow.
        var senderLevel = ctx.LevelOf(ev.Sender);
        var inviteLevel = ctx.PowerLevels.Invite;
        if (senderLevel >= inviteLevel)
            return AuthDecision.Allow(AuthRule.InviteAllowed,
                $"{ev.Sender} is in the room with power level {senderLevel}, at least the invite level {inviteLevel}, " +
                $"and {target} is {Membership.State(current)}");

        // Since v1: Otherwise, reject.
        return AuthDecision.Refuse(AuthRule.InvitePowerTooLow,
            $"{ev.Sender} does not have a high enough power level to invite {target} " +
            $"(has {senderLevel}, inviting needs {inviteLevel})");
    }

    /// <summary>membership = leave: leaving, rejecting an invite, rescinding a knock, kicking, unbanning.</summary>
    private static AuthDecision Leave(AuthContext ctx)
    {
        var ev = ctx.Event;
        var target = ev.StateKey!;

        // v1–v6: If the sender matches state_key, allow if and only if that user's current membership state is
        // invite or join.
        // Since v7: If the sender matches state_key, allow if and only if that user's current membership state is
        // invite, join, or knock.
        if (ev.Sender == target)
        {
            var own = ctx.SenderMembership;
            return own is Memberships.Invite or Memberships.Join || (ctx.Version.AllowKnocking && own == Memberships.Knock)
                ? AuthDecision.Allow(AuthRule.LeaveAllowed, own switch
                {
                    Memberships.Invite => $"{target} rejects their invite",
                    Memberships.Knock => $"{target} withdraws their knock",
                    _ => $"{target} leaves the room",
                })
                : AuthDecision.Refuse(AuthRule.LeaveNotInRoom, own == Memberships.Ban
                    ? $"{target} is banned from the room and cannot change that themselves"
                    : $"{target} cannot leave: {target} is not in the room{Membership.Suffix(own)}");
        }

        var current = ctx.TargetMembership;
        var unban = current == Memberships.Ban;

        // Since v1: If the sender's current membership state is not join, reject.
        if (ctx.SenderMembership != Memberships.Join)
            return AuthDecision.Refuse(AuthRule.KickSenderNotJoined,
                $"{ev.Sender} cannot {(unban ? "unban" : "kick")} {target} because {ev.Sender} is not in the room" +
                Membership.Suffix(ctx.SenderMembership));

        var senderLevel = ctx.LevelOf(ev.Sender);
        var levels = ctx.PowerLevels;

        // Since v1: If the target user's current membership state is ban, and the sender's power level is less than
        // the ban level, reject.
        if (unban && senderLevel < levels.Ban)
            return AuthDecision.Refuse(AuthRule.UnbanPowerTooLow,
                $"{ev.Sender} does not have a high enough power level to unban {target} " +
                $"(has {senderLevel}, unbanning needs the ban level {levels.Ban})");

        // Since v1: If the sender's power level is greater than or equal to the kick level, and the target user's
        // power level is less than the sender's power level, allow.
        var targetLevel = ctx.LevelOf(target);
        if (senderLevel >= levels.Kick && targetLevel < senderLevel)
            return unban
                ? AuthDecision.Allow(AuthRule.UnbanAllowed,
                    $"{ev.Sender} (power level {senderLevel}) may unban {target} (power level {targetLevel}): " +
                    $"ban level {levels.Ban}, kick level {levels.Kick}")
                : AuthDecision.Allow(AuthRule.KickAllowed,
                    $"{ev.Sender} (power level {senderLevel}) may kick {target} (power level {targetLevel}, " +
                    $"{Membership.State(current)}): kick level {levels.Kick}");

        // Since v1: Otherwise, reject.
        if (senderLevel < levels.Kick)
            return unban
                ? AuthDecision.Refuse(AuthRule.UnbanPowerTooLow,
                    $"{ev.Sender} does not have a high enough power level to unban {target} " +
                    $"(has {senderLevel}, unbanning also needs the kick level {levels.Kick})")
                : AuthDecision.Refuse(AuthRule.KickPowerTooLow,
                    $"{ev.Sender} does not have a high enough power level to kick {target} " +
                    $"(has {senderLevel}, kicking needs {levels.Kick})");
        return AuthDecision.Refuse(unban ? AuthRule.UnbanTargetPowerTooHigh : AuthRule.KickTargetPowerTooHigh,
            $"{ev.Sender} cannot {(unban ? "unban" : "kick")} {target}: {target}'s power level ({targetLevel}) " +
            $"is not lower than {ev.Sender}'s ({senderLevel})");
    }

    /// <summary>membership = ban.</summary>
    private static AuthDecision Ban(AuthContext ctx)
    {
        var ev = ctx.Event;
        var target = ev.StateKey!;

        // Since v1: If the sender's current membership state is not join, reject.
        if (ctx.SenderMembership != Memberships.Join)
            return AuthDecision.Refuse(AuthRule.BanSenderNotJoined,
                $"{ev.Sender} cannot ban {target} because {ev.Sender} is not in the room" +
                Membership.Suffix(ctx.SenderMembership));

        // Since v1: If the sender's power level is greater than or equal to the ban level, and the target user's
        // power level is less than the sender's power level, allow.
        var senderLevel = ctx.LevelOf(ev.Sender);
        var banLevel = ctx.PowerLevels.Ban;
        var targetLevel = ctx.LevelOf(target);
        if (senderLevel >= banLevel && targetLevel < senderLevel)
            return AuthDecision.Allow(AuthRule.BanAllowed,
                $"{ev.Sender} (power level {senderLevel}) may ban {target} (power level {targetLevel}): ban level {banLevel}");

        // Since v1: Otherwise, reject.
        return senderLevel < banLevel
            ? AuthDecision.Refuse(AuthRule.BanPowerTooLow,
                $"{ev.Sender} does not have a high enough power level to ban {target} (has {senderLevel}, banning needs {banLevel})")
            : AuthDecision.Refuse(AuthRule.BanTargetPowerTooHigh,
                $"{ev.Sender} cannot ban {target}: {target}'s power level ({targetLevel}) is not lower than " +
                $"{ev.Sender}'s ({senderLevel})");
    }

    /// <summary>membership = knock (v7+).</summary>
    private static AuthDecision Knock(AuthContext ctx)
    {
        var ev = ctx.Event;
        var target = ev.StateKey!;
        var joinRule = ctx.JoinRule;

        // v7–v9: If the join_rule is anything other than knock, reject.
        // Since v10: If the join_rule is anything other than knock or knock_restricted, reject.
        if (!(joinRule == JoinRuleValues.Knock || (ctx.Version.KnockRestrictedJoinRule && joinRule == JoinRuleValues.KnockRestricted)))
            return AuthDecision.Refuse(AuthRule.KnockJoinRule,
                $"{target} cannot knock: the room's join rule is {ctx.JoinRuleText}, not " +
                (ctx.Version.KnockRestrictedJoinRule ? "knock or knock_restricted" : "knock"));

        // Since v7: If sender does not match state_key, reject.
        if (ev.Sender != target)
            return AuthDecision.Refuse(AuthRule.KnockSenderNotTarget,
                $"{ev.Sender} cannot knock on behalf of {target}: only a user can knock for themselves");

        // Since v7: If the sender's current membership is not ban, invite, or join, allow.
        var current = ctx.SenderMembership;
        if (current is not (Memberships.Ban or Memberships.Invite or Memberships.Join))
            return AuthDecision.Allow(AuthRule.KnockAllowed,
                $"The room's join rule is {joinRule} and {target} ({Membership.State(current)}) asks to join");

        // Since v7: Otherwise, reject.
        return current == Memberships.Ban
            ? AuthDecision.Refuse(AuthRule.KnockBanned, $"{target} is banned from the room and cannot knock")
            : AuthDecision.Refuse(AuthRule.KnockAlreadyMember,
                $"{target} cannot knock: {Membership.Describe(target, current)}");
    }
}
