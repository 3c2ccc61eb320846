using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Redaction;

/// <summary>
/// The spec's redaction algorithm (room versions → "Redactions": v1, v6, v8, v9 and v11 fragments): what is left of an
/// event once it is redacted. Works on an event's JSON (the stored form or the client form, whose extra keys it
/// strips all the same); pure, the input is not changed.
/// </summary>
public static class EventRedaction
{
    private static readonly string[] KeptTopLevel =
        ["event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth", "prev_events", "auth_events", "origin_server_ts"];

    /// <summary>Kept before v11 only.</summary>
    private static readonly string[] KeptTopLevelBeforeV11 = ["prev_state", "origin", "membership"];

    public static JsonObject Redact(JsonObject ev, RoomVersion version)
    {
        // "Upon receipt of a redaction event, the server must strip off any keys not in the following list"
        var redacted = new JsonObject();
        foreach (var key in KeptTopLevel.Concat(version.UpdatedRedactionRules ? Array.Empty<string>() : KeptTopLevelBeforeV11))
            if (ev.TryGetPropertyValue(key, out var value) && key != "content")
                redacted[key] = value?.DeepClone();
        var content = ev["content"] as JsonObject ?? new JsonObject();
        redacted["content"] = RedactContent(ev["type"]?.GetValue<string>(), content, version);
        return redacted;
    }

    /// <summary>"The content object must also be stripped of all keys, unless it is one of the following event types".</summary>
    public static JsonObject RedactContent(string? type, JsonObject content, RoomVersion version)
    {
        if (type == EventTypes.Create && version.UpdatedRedactionRules) return (JsonObject)content.DeepClone(); // v11: all keys
        var kept = KeptContentKeys(type, version);
        var redacted = new JsonObject();
        foreach (var key in kept)
            if (content.TryGetPropertyValue(key, out var value))
                redacted[key] = value?.DeepClone();
        // v11: m.room.member "allows the signed key of the third_party_invite key".
        if (type == EventTypes.Member && version.UpdatedRedactionRules && content["third_party_invite"] is JsonObject invite
            && invite.TryGetPropertyValue("signed", out var signed))
            redacted["third_party_invite"] = new JsonObject { ["signed"] = signed?.DeepClone() };
        return redacted;
    }

    private static IEnumerable<string> KeptContentKeys(string? type, RoomVersion version) => type switch
    {
        EventTypes.Member => version.RedactionKeepsJoinAuthorisedVia ? ["membership", "join_authorised_via_users_server"] : ["membership"],
        EventTypes.Create => ["creator"],
        EventTypes.JoinRules => version.RedactionKeepsJoinRuleAllow ? ["join_rule", "allow"] : ["join_rule"],
        EventTypes.PowerLevels => version.UpdatedRedactionRules
            ? ["ban", "events", "events_default", "invite", "kick", "redact", "state_default", "users", "users_default"]
            : ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"],
        "m.room.aliases" when version.RedactionKeepsAliases => ["aliases"],
        EventTypes.HistoryVisibility => ["history_visibility"],
        EventTypes.Redaction when version.UpdatedRedactionRules => ["redacts"],
        _ => [],
    };
}
