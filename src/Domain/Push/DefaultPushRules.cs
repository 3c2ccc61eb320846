using System.Text.Json.Nodes;

namespace Matrix.Rooms.Domain.Push;

/// <summary>
/// The spec's server-default push rules (client-server API → "Push Notifications" → "Predefined Rules", v1.17: the legacy
/// body-matching rules are gone), in the spec's order, for one user. This server sends no push notifications; clients
/// read the rule set at start-up to decide how to show events, so it must be the spec's.
/// </summary>
public static class DefaultPushRules
{
    /// <summary>The kinds of a rule set, in the order the spec evaluates them.</summary>
    public static readonly string[] Kinds = ["override", "content", "room", "sender", "underride"];

    /// <summary>The <c>global</c> rule set for <paramref name="userId"/>: one array per kind.</summary>
    public static JsonObject For(string userId) => new()
    {
        ["override"] = new JsonArray(
            Rule(".m.rule.master", [], [], enabled: false),
            Rule(".m.rule.suppress_notices", [Match("content.msgtype", "m.notice")], []),
            Rule(".m.rule.invite_for_me", [Match("type", "m.room.member"), Match("content.membership", "invite"), Match("state_key", userId)],
                ["notify", Sound("default")]),
            Rule(".m.rule.member_event", [Match("type", "m.room.member")], []),
            Rule(".m.rule.is_user_mention",
                [new JsonObject { ["kind"] = "event_property_contains", ["key"] = "content.m\\.mentions.user_ids", ["value"] = userId }],
                ["notify", Sound("default"), Highlight()]),
            Rule(".m.rule.is_room_mention",
                [
                    new JsonObject { ["kind"] = "event_property_is", ["key"] = "content.m\\.mentions.room", ["value"] = true },
                    new JsonObject { ["kind"] = "sender_notification_permission", ["key"] = "room" },
                ],
                ["notify", Highlight()]),
            Rule(".m.rule.tombstone", [Match("type", "m.room.tombstone"), Match("state_key", "")], ["notify", Highlight()]),
            Rule(".m.rule.reaction", [Match("type", "m.reaction")], []),
            Rule(".m.rule.room.server_acl", [Match("type", "m.room.server_acl"), Match("state_key", "")], []),
            Rule(".m.rule.suppress_edits",
                [new JsonObject { ["kind"] = "event_property_is", ["key"] = "content.m\\.relates_to.rel_type", ["value"] = "m.replace" }], [])),
        ["content"] = new JsonArray(),
        ["room"] = new JsonArray(),
        ["sender"] = new JsonArray(),
        ["underride"] = new JsonArray(
            Rule(".m.rule.call", [Match("type", "m.call.invite")], ["notify", Sound("ring")]),
            Rule(".m.rule.encrypted_room_one_to_one", [MemberCount("2"), Match("type", "m.room.encrypted")], ["notify", Sound("default")]),
            Rule(".m.rule.room_one_to_one", [MemberCount("2"), Match("type", "m.room.message")], ["notify", Sound("default")]),
            Rule(".m.rule.message", [Match("type", "m.room.message")], ["notify"]),
            Rule(".m.rule.encrypted", [Match("type", "m.room.encrypted")], ["notify"])),
    };

    private static JsonObject Rule(string ruleId, JsonNode[] conditions, JsonNode[] actions, bool enabled = true) => new()
    {
        ["rule_id"] = ruleId,
        ["default"] = true,
        ["enabled"] = enabled,
        ["conditions"] = new JsonArray(conditions),
        ["actions"] = new JsonArray(actions),
    };

    private static JsonObject Match(string key, string pattern) => new() { ["kind"] = "event_match", ["key"] = key, ["pattern"] = pattern };

    private static JsonObject MemberCount(string isValue) => new() { ["kind"] = "room_member_count", ["is"] = isValue };

    private static JsonObject Sound(string value) => new() { ["set_tweak"] = "sound", ["value"] = value };

    private static JsonObject Highlight() => new() { ["set_tweak"] = "highlight" };
}
