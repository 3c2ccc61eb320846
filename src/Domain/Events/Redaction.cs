using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;

namespace Matrix.Rooms.Domain.Events;

/// <summary>
/// The redaction algorithm of each room version (spec "Room versions" → "Redactions": fragments v1-redactions
/// (v1–v5), v6-redactions (v6–v7), room version 8's list, v9-redactions (v9–v10), v11-redactions (v11–v12)). One
/// function serves hashing and signing (the reference hash and the signature cover the redacted form), the redacted
/// events readers see, and export. The differences are named flags of <see cref="RoomVersion"/>.
/// </summary>
public static class Redaction
{
    /// <summary>v1–v10: "the server must strip off any keys not in the following list".</summary>
    private static readonly HashSet<string> TopLevelKeysV1 =
    [
        "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth", "prev_events",
        "prev_state", "auth_events", "origin", "origin_server_ts", "membership",
    ];

    /// <summary>v11+: as v1 without <c>origin</c>, <c>membership</c> and <c>prev_state</c>.</summary>
    private static readonly HashSet<string> TopLevelKeysV11 =
    [
        "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth", "prev_events",
        "auth_events", "origin_server_ts",
    ];

    /// <summary>
    /// The event as the redaction algorithm of <paramref name="version"/> leaves it: a new object holding only the
    /// top-level keys the version keeps, with <c>content</c> stripped of every key its event type does not keep.
    /// <c>unsigned</c> is not kept (it is not in any version's list); a caller showing a redacted event to clients
    /// adds its own <c>unsigned.redacted_because</c>. <paramref name="pdu"/> is left unchanged.
    /// </summary>
    public static JsonObject Redact(JsonObject pdu, RoomVersion version)
    {
        var keep = version.UpdatedRedactionRules ? TopLevelKeysV11 : TopLevelKeysV1;
        var redacted = new JsonObject();
        foreach (var (key, value) in pdu)
            if (keep.Contains(key) && key != "content")
                redacted[key] = value?.DeepClone();
        var type = pdu["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
        redacted["content"] = RedactContent(type, pdu["content"] as JsonObject ?? new JsonObject(), version);
        return redacted;
    }

    /// <summary>The redacted form of a <see cref="MatrixEvent"/> (its JSON through <see cref="Redact(JsonObject, RoomVersion)"/>).</summary>
    public static MatrixEvent Redact(MatrixEvent ev, RoomVersion version) => MatrixEvent.FromJson(Redact(ev.ToJson(), version));

    /// <summary>The event a redaction names: top-level <c>redacts</c> before v11, <c>content.redacts</c> from v11 (as the auth rules read it).</summary>
    public static string? TargetOf(MatrixEvent redaction, RoomVersion version) =>
        version.RedactsInContent ? redaction.ContentString("redacts") ?? redaction.Redacts : redaction.Redacts;

    /// <summary>
    /// Whether <paramref name="redaction"/> is applied to <paramref name="original"/> when the event is served (spec
    /// client-server "Redactions": a user may redact their own events; redacting other users' events needs the
    /// <c>redact</c> power level; from room version 3 this is checked when redacting, not by the auth rules). This
    /// server applies the same check in v1–v2 (whose auth rules let any user of the same server redact), as Synapse
    /// does for its own users. <paramref name="levels"/> are the room's power levels as the reader has them.
    /// </summary>
    public static bool Applies(MatrixEvent original, MatrixEvent redaction, PowerLevels levels, RoomVersion version) =>
        redaction.Type == EventTypes.Redaction && redaction.RoomId == original.RoomId && TargetOf(redaction, version) == original.EventId
        && MayRedact(redaction.Sender, original.Sender, levels);

    /// <summary>
    /// Spec client-server "Redactions": "Any user with a power level greater than or equal to the <c>m.room.redaction</c>
    /// event power level may send redaction events in the room. If the user's power level is also greater than or equal
    /// to the <c>redact</c> power level of the room, the user may redact events sent by other users." Their own events
    /// anyone may redact. The one rule both the send (<c>403</c>, as Synapse) and the read (<see cref="Applies"/>) use.
    /// </summary>
    public static bool MayRedact(string redactionSender, string originalSender, PowerLevels levels) =>
        redactionSender == originalSender || levels.UserLevel(redactionSender) >= levels.Redact;

    /// <summary>"The content object must also be stripped of all keys, unless it is one of the following event types".</summary>
    public static JsonObject RedactContent(string? type, JsonObject content, RoomVersion version)
    {
        var kept = new JsonObject();
        switch (type)
        {
            // Since v1: m.room.member allows key membership.
            // Since v9: … and join_authorised_via_users_server.
            // Since v11: Additionally, it allows the signed key of the third_party_invite key.
            case EventTypes.Member:
                Keep("membership");
                if (version.RedactionKeepsJoinAuthorisedVia) Keep("join_authorised_via_users_server");
                if (version.UpdatedRedactionRules && content["third_party_invite"] is JsonObject invite
                    && invite.TryGetPropertyValue("signed", out var signed))
                    kept["third_party_invite"] = new JsonObject { ["signed"] = signed?.DeepClone() };
                break;
            // v1–v10: m.room.create allows key creator. Since v11: allows all keys.
            case EventTypes.Create:
                if (version.UpdatedRedactionRules) return (JsonObject)content.DeepClone();
                Keep("creator");
                break;
            // Since v1: m.room.join_rules allows key join_rule. Since v8: … and allow.
            case EventTypes.JoinRules:
                Keep("join_rule");
                if (version.RedactionKeepsJoinRulesAllow) Keep("allow");
                break;
            // Since v1: m.room.power_levels allows keys ban, events, events_default, kick, redact, state_default,
            // users, users_default. Since v11: … and invite.
            case EventTypes.PowerLevels:
                Keep("ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default");
                if (version.UpdatedRedactionRules) Keep("invite");
                break;
            // v1–v5: m.room.aliases allows key aliases.
            case EventAuth.AliasesType when version.RedactionKeepsAliases:
                Keep("aliases");
                break;
            // Since v1: m.room.history_visibility allows key history_visibility.
            case EventTypes.HistoryVisibility:
                Keep("history_visibility");
                break;
            // Since v11: m.room.redaction allows key redacts.
            case EventTypes.Redaction when version.UpdatedRedactionRules:
                Keep("redacts");
                break;
        }
        return kept;

        void Keep(params string[] keys)
        {
            foreach (var key in keys)
                if (content.TryGetPropertyValue(key, out var value))
                    kept[key] = value?.DeepClone();
        }
    }
}
