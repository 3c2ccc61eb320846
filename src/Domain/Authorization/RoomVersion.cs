namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// A room version as the authorization rules see it (spec "Room versions"). Every difference between versions 1–12
/// that a rule depends on is a named flag here, so a rule reads <c>version.AllowKnocking &amp;&amp; …</c> and never
/// compares version numbers. Versions 1–12 are the stable versions; anything else is unknown and refused.
/// </summary>
public sealed record RoomVersion
{
    /// <summary>The version identifier as it appears in <c>m.room.create</c>'s <c>content.room_version</c>.</summary>
    public required string Id { get; init; }

    /// <summary>
    /// v1–v5: <c>m.room.aliases</c> has its own rule ("If sender's domain doesn't match state_key, reject. Otherwise,
    /// allow"), checked before the sender's membership. Removed in v6.
    /// </summary>
    public bool SpecialCaseAliasesAuth { get; init; }

    /// <summary>
    /// v1–v2: <c>m.room.redaction</c> is allowed only with the redact level or when the redacted event's ID has the
    /// redaction's domain. From v3 a redaction passes the auth rules like any other event.
    /// </summary>
    public bool SpecialCaseRedactionAuth { get; init; }

    /// <summary>v1–v5: power levels given as JSON floats are accepted and truncated (spec "accept values as floats").</summary>
    public bool FloatPowerLevels { get; init; }

    /// <summary>
    /// v6+: events must be Canonical JSON, so numbers are integers in <c>[-(2**53)+1, (2**53)-1]</c> and floats are
    /// not permitted.
    /// </summary>
    public bool StrictCanonicalJson { get; init; }

    /// <summary>v6+: changes to <c>notifications</c> in <c>m.room.power_levels</c> are limited like <c>events</c>.</summary>
    public bool NotificationsPowerLevels { get; init; }

    /// <summary>v7+: the <c>knock</c> membership and join rule exist; <c>knock</c> → <c>leave</c> is a rescinded knock.</summary>
    public bool AllowKnocking { get; init; }

    /// <summary>v8+: the <c>restricted</c> join rule and <c>join_authorised_via_users_server</c>.</summary>
    public bool RestrictedJoinRule { get; init; }

    /// <summary>v10+: the <c>knock_restricted</c> join rule.</summary>
    public bool KnockRestrictedJoinRule { get; init; }

    /// <summary>
    /// v10+: power levels must be integers; strings that hold integers (accepted in v1–v9, spec "accept values as
    /// strings") are refused.
    /// </summary>
    public bool IntegerPowerLevelsOnly { get; init; }

    /// <summary>
    /// v11: the room creator is the <c>sender</c> of <c>m.room.create</c>; <c>content.creator</c> is no longer
    /// required nor read.
    /// </summary>
    public bool UseRoomCreateSender { get; init; }

    /// <summary>v11: <c>redacts</c> of <c>m.room.redaction</c> is a content property instead of a top-level one.</summary>
    public bool RedactsInContent { get; init; }

    /// <summary>v1–v2: event IDs have the shape <c>$opaque:server</c>, so an event ID carries a domain.</summary>
    public bool EventIdsHaveDomain { get; init; }

    /// <summary>
    /// v4+: the event ID is <c>$</c> + the reference hash in URL-safe unpadded Base64 (spec fragment "v4-event-ids");
    /// v3 uses the standard alphabet. Meaningless while <see cref="EventIdsHaveDomain"/>.
    /// </summary>
    public bool UrlSafeEventIds { get; init; }

    /// <summary>
    /// v1–v5: the redaction algorithm keeps <c>aliases</c> in the content of <c>m.room.aliases</c> (fragment
    /// "v1-redactions"); v6 drops it ("v6-redactions").
    /// </summary>
    public bool RedactionKeepsAliases { get; init; }

    /// <summary>v8+: redacting <c>m.room.join_rules</c> keeps <c>allow</c> (room version 8, "Redactions").</summary>
    public bool RedactionKeepsJoinRulesAllow { get; init; }

    /// <summary>v9+: redacting <c>m.room.member</c> keeps <c>join_authorised_via_users_server</c> ("v9-redactions").</summary>
    public bool RedactionKeepsJoinAuthorisedVia { get; init; }

    /// <summary>
    /// v11+ ("v11-redactions", MSC2176/MSC3821/MSC3989): the top-level <c>origin</c>, <c>membership</c> and
    /// <c>prev_state</c> are no longer kept; <c>m.room.create</c> keeps all of its content, <c>m.room.redaction</c>
    /// keeps <c>redacts</c>, <c>m.room.power_levels</c> keeps <c>invite</c>, and <c>m.room.member</c> keeps
    /// <c>third_party_invite.signed</c>.
    /// </summary>
    public bool UpdatedRedactionRules { get; init; }

    /// <summary>
    /// v12: the room ID is the create event's ID with the sigil <c>!</c> (<c>!</c> + URL-safe unpadded Base64 of its
    /// reference hash); the create event has no <c>room_id</c> and is never selected for <c>auth_events</c>.
    /// </summary>
    public bool RoomIdIsCreateEventId { get; init; }

    /// <summary>
    /// v12: the room creators — the create event's <c>sender</c> and <c>content.additional_creators</c> — have an
    /// infinitely high power level and may not appear in <c>users</c> of <c>m.room.power_levels</c>.
    /// </summary>
    public bool PrivilegedCreators { get; init; }

    public override string ToString() => $"room version {Id}";

    public static RoomVersion V1 { get; } = new()
    {
        Id = "1",
        SpecialCaseAliasesAuth = true,
        SpecialCaseRedactionAuth = true,
        FloatPowerLevels = true,
        EventIdsHaveDomain = true,
        RedactionKeepsAliases = true,
    };

    public static RoomVersion V2 { get; } = V1 with { Id = "2" };

    /// <summary>v3: event IDs are hashes; redactions are no longer special in the auth rules.</summary>
    public static RoomVersion V3 { get; } = V2 with { Id = "3", SpecialCaseRedactionAuth = false, EventIdsHaveDomain = false };

    /// <summary>v4: event IDs in URL-safe Base64.</summary>
    public static RoomVersion V4 { get; } = V3 with { Id = "4", UrlSafeEventIds = true };

    public static RoomVersion V5 { get; } = V4 with { Id = "5" };

    /// <summary>v6: Canonical JSON enforced, <c>m.room.aliases</c> no longer special, <c>notifications</c> limited.</summary>
    public static RoomVersion V6 { get; } = V5 with
    {
        Id = "6",
        SpecialCaseAliasesAuth = false,
        RedactionKeepsAliases = false,
        FloatPowerLevels = false,
        StrictCanonicalJson = true,
        NotificationsPowerLevels = true,
    };

    /// <summary>v7: knocking.</summary>
    public static RoomVersion V7 { get; } = V6 with { Id = "7", AllowKnocking = true };

    /// <summary>v8: restricted join rule (redaction keeps <c>allow</c>).</summary>
    public static RoomVersion V8 { get; } = V7 with { Id = "8", RestrictedJoinRule = true, RedactionKeepsJoinRulesAllow = true };

    /// <summary>v9: redaction algorithm change only (keeps <c>join_authorised_via_users_server</c>); same auth rules as v8.</summary>
    public static RoomVersion V9 { get; } = V8 with { Id = "9", RedactionKeepsJoinAuthorisedVia = true };

    /// <summary>v10: <c>knock_restricted</c> and integer-only power levels.</summary>
    public static RoomVersion V10 { get; } = V9 with { Id = "10", KnockRestrictedJoinRule = true, IntegerPowerLevelsOnly = true };

    /// <summary>v11: creator is the create event's sender; <c>redacts</c> moves into content.</summary>
    public static RoomVersion V11 { get; } = V10 with
    {
        Id = "11",
        UseRoomCreateSender = true,
        RedactsInContent = true,
        UpdatedRedactionRules = true,
    };

    /// <summary>v12: room IDs from the create event's hash; creators with infinite power.</summary>
    public static RoomVersion V12 { get; } = V11 with { Id = "12", RoomIdIsCreateEventId = true, PrivilegedCreators = true };

    /// <summary>Every room version this engine knows, oldest first.</summary>
    public static IReadOnlyList<RoomVersion> All { get; } = [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12];

    /// <summary>The version new rooms get: v12, as the spec recommends servers create rooms (the real clients in the tests cope; docs/clients.md).</summary>
    public static RoomVersion Default => V12;

    /// <summary>The version with this identifier, or null when it is not one of 1–12.</summary>
    public static RoomVersion? Get(string? id) => id switch
    {
        "1" => V1,
        "2" => V2,
        "3" => V3,
        "4" => V4,
        "5" => V5,
        "6" => V6,
        "7" => V7,
        "8" => V8,
        "9" => V9,
        "10" => V10,
        "11" => V11,
        "12" => V12,
        _ => null,
    };
}
