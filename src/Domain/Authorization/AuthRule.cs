namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// The stable ids of the authorization rules, as <see cref="AuthDecision.Rule"/> reports them. Ids are
/// <c>subject.check</c>; they never change meaning, so logs, tests and clients may rely on them.
/// docs/authorization.md maps each id to the spec sentence, the method that implements it and the tests that pin it.
/// </summary>
public static class AuthRule
{
    // ── m.room.create ────────────────────────────────────────────────────────────────────────────────────────────
    public const string CreateAllowed = "create.allowed";
    public const string CreateStateKeyNotEmpty = "create.state-key-not-empty";
    public const string CreateHasPrevEvents = "create.has-prev-events";
    public const string CreateNotFirstEvent = "create.not-first-event";
    public const string CreateSenderInvalid = "create.sender-invalid";
    public const string CreateRoomIdInvalid = "create.room-id-invalid";
    public const string CreateRoomIdServerMismatch = "create.room-id-server-mismatch";
    public const string CreateRoomVersionUnknown = "create.room-version-unknown";
    public const string CreateCreatorMissing = "create.creator-missing";
    public const string CreateHasRoomId = "create.has-room-id";
    public const string CreateAdditionalCreatorsInvalid = "create.additional-creators-invalid";

    // ── auth events and room-wide checks ─────────────────────────────────────────────────────────────────────────
    public const string AuthEventsNoCreate = "auth-events.no-create";
    public const string AuthEventsRoomMismatch = "auth-events.room-mismatch";
    public const string RoomVersionUnknown = "room.version-unknown";
    public const string RoomIdNotCreateEvent = "room.id-not-create-event";
    public const string RoomNotFederated = "room.not-federated";

    // ── m.room.aliases (v1–v5) ───────────────────────────────────────────────────────────────────────────────────
    public const string AliasesAllowed = "aliases.allowed";
    public const string AliasesStateKeyMissing = "aliases.state-key-missing";
    public const string AliasesStateKeyServerMismatch = "aliases.state-key-server-mismatch";

    // ── m.room.member ────────────────────────────────────────────────────────────────────────────────────────────
    public const string MemberStateKeyMissing = "member.state-key-missing";
    public const string MemberStateKeyInvalid = "member.state-key-invalid";
    public const string MemberMembershipMissing = "member.membership-missing";
    public const string MemberMembershipUnknown = "member.membership-unknown";

    public const string JoinCreatorFirstJoin = "member.join.creator-first-join";
    public const string JoinSenderNotTarget = "member.join.sender-not-target";
    public const string JoinBanned = "member.join.banned";
    public const string JoinInvited = "member.join.invited";
    public const string JoinNotInvited = "member.join.not-invited";
    public const string JoinRestrictedMember = "member.join.restricted-member";
    public const string JoinRestrictedAuthorised = "member.join.restricted-authorised";
    public const string JoinRestrictedNoAuthoriser = "member.join.restricted-no-authoriser";
    public const string JoinRestrictedAuthoriserNotJoined = "member.join.restricted-authoriser-not-joined";
    public const string JoinRestrictedAuthoriserPowerTooLow = "member.join.restricted-authoriser-power-too-low";
    public const string JoinPublic = "member.join.public";
    public const string JoinRuleForbids = "member.join.rule-forbids";

    public const string InviteAllowed = "member.invite.allowed";
    public const string InviteSenderNotJoined = "member.invite.sender-not-joined";
    public const string InviteTargetJoined = "member.invite.target-joined";
    public const string InviteTargetBanned = "member.invite.target-banned";
    public const string InvitePowerTooLow = "member.invite.power-too-low";

    public const string ThirdPartyInviteAllowed = "member.third-party-invite.allowed";
    public const string ThirdPartyInviteTargetBanned = "member.third-party-invite.target-banned";
    public const string ThirdPartyInviteSignedMissing = "member.third-party-invite.signed-missing";
    public const string ThirdPartyInviteSignedIncomplete = "member.third-party-invite.signed-incomplete";
    public const string ThirdPartyInviteMxidMismatch = "member.third-party-invite.mxid-mismatch";
    public const string ThirdPartyInviteUnknownToken = "member.third-party-invite.unknown-token";
    public const string ThirdPartyInviteSenderMismatch = "member.third-party-invite.sender-mismatch";
    public const string ThirdPartyInviteRevoked = "member.third-party-invite.revoked";
    public const string ThirdPartyInviteSignatureInvalid = "member.third-party-invite.signature-invalid";

    public const string LeaveAllowed = "member.leave.allowed";
    public const string LeaveNotInRoom = "member.leave.not-in-room";
    public const string KickAllowed = "member.kick.allowed";
    public const string KickSenderNotJoined = "member.kick.sender-not-joined";
    public const string KickPowerTooLow = "member.kick.power-too-low";
    public const string KickTargetPowerTooHigh = "member.kick.target-power-too-high";
    public const string UnbanAllowed = "member.unban.allowed";
    public const string UnbanPowerTooLow = "member.unban.power-too-low";
    public const string UnbanTargetPowerTooHigh = "member.unban.target-power-too-high";

    public const string BanAllowed = "member.ban.allowed";
    public const string BanSenderNotJoined = "member.ban.sender-not-joined";
    public const string BanPowerTooLow = "member.ban.power-too-low";
    public const string BanTargetPowerTooHigh = "member.ban.target-power-too-high";

    public const string KnockAllowed = "member.knock.allowed";
    public const string KnockJoinRule = "member.knock.join-rule";
    public const string KnockSenderNotTarget = "member.knock.sender-not-target";
    public const string KnockBanned = "member.knock.banned";
    public const string KnockAlreadyMember = "member.knock.already-member";

    // ── every other event ────────────────────────────────────────────────────────────────────────────────────────
    public const string SenderNotJoined = "sender.not-joined";
    public const string ThirdPartyInviteEventAllowed = "third-party-invite.allowed";
    public const string ThirdPartyInviteEventPowerTooLow = "third-party-invite.power-too-low";
    public const string EventPowerTooLow = "event.power-too-low";
    public const string StateKeyIsOtherUser = "state.key-is-other-user";
    public const string StateAllowed = "state.allowed";
    public const string MessageAllowed = "message.allowed";

    // ── m.room.power_levels ──────────────────────────────────────────────────────────────────────────────────────
    public const string PowerLevelsNotInteger = "power-levels.not-integer";
    public const string PowerLevelsInvalidValue = "power-levels.invalid-value";
    public const string PowerLevelsUsersInvalid = "power-levels.users-invalid";
    public const string PowerLevelsUsersContainsCreator = "power-levels.users-contains-creator";
    public const string PowerLevelsInitial = "power-levels.initial";
    public const string PowerLevelsFieldChangeTooHigh = "power-levels.field-change-too-high";
    public const string PowerLevelsEventsChangeTooHigh = "power-levels.events-change-too-high";
    public const string PowerLevelsNotificationsChangeTooHigh = "power-levels.notifications-change-too-high";
    public const string PowerLevelsUserChangeForbidden = "power-levels.user-change-forbidden";
    public const string PowerLevelsUserLevelTooHigh = "power-levels.user-level-too-high";
    public const string PowerLevelsAllowed = "power-levels.allowed";

    // ── m.room.redaction ─────────────────────────────────────────────────────────────────────────────────────────
    public const string RedactionRedactsMissing = "redaction.redacts-missing";
    public const string RedactionRedactsInvalid = "redaction.redacts-invalid";
    public const string RedactionRedactLevel = "redaction.redact-level";
    public const string RedactionSameDomain = "redaction.same-domain";
    public const string RedactionPowerTooLow = "redaction.power-too-low";
    public const string RedactionAllowed = "redaction.allowed";

    // ── conformance tooling ──────────────────────────────────────────────────────────────────────────────────────
    /// <summary>The event could not be read as a Matrix event at all (e.g. not a JSON object).</summary>
    public const string EventMalformed = "event.malformed";
}
