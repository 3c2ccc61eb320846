using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;

namespace Matrix.Rooms.Domain.Rooms;

/// <summary>
/// The client-server API's checks of state content a client sends (<c>PUT /rooms/{roomId}/state/…</c>), which the
/// authorization rules do not make: a bad value is the client's mistake (<c>400</c>), not a refusal (<c>403</c>).
/// </summary>
public static class StateContentRules
{
    /// <summary>The spec's <c>membership</c> enum (m.room.member): "invite", "join", "knock", "leave", "ban".</summary>
    public static readonly IReadOnlySet<string> MembershipValues =
        new HashSet<string>(StringComparer.Ordinal) { Memberships.Invite, Memberships.Join, Memberships.Knock, Memberships.Leave, Memberships.Ban };

    /// <summary>
    /// m.room.member: <c>membership</c> is required and one of the enum's values. Synapse refuses the same with
    /// <c>400</c> ("Invalid membership key", errcode M_UNKNOWN); here M_BAD_JSON, the spec's code for "invalid values for
    /// keys". (The authorization rules would reject it too — "Otherwise, the membership is unknown. Reject." — as a 403.)
    /// </summary>
    public static MatrixError? CheckMember(JsonObject content) =>
        content["membership"] is JsonValue v && v.TryGetValue<string>(out var membership)
            ? MembershipValues.Contains(membership)
                ? null
                : MatrixError.BadJson($"membership must be one of invite, join, knock, leave or ban, not '{(membership.Length > 32 ? membership[..32] + "…" : membership)}'")
            : MatrixError.BadJson("An m.room.member event needs a membership string");

    /// <summary>
    /// m.room.canonical_alias (client-server API, <c>PUT /state</c>): "servers SHOULD ensure that any new aliases being
    /// listed in the event are valid per their grammar/syntax and that they point to the room ID where the state event
    /// is to be sent. Servers do not validate aliases which are being removed or are already present in the state
    /// event." Returns the new aliases (the <c>alias</c> when it changed, <c>alt_aliases</c> not in the current event),
    /// which the caller must resolve to this room, or <c>400 M_INVALID_PARAM</c> for a field of the wrong type or a new
    /// alias outside the grammar. <c>alias</c> absent, <c>null</c> or <c>""</c> means no canonical alias.
    /// </summary>
    public static Result<IReadOnlyList<string>> NewCanonicalAliases(JsonObject content, JsonObject? current)
    {
        var fresh = new List<string>();
        var alias = content["alias"];
        if (alias is not null && !(alias is JsonValue av && av.TryGetValue<string>(out _)))
            return MatrixError.InvalidParam("alias must be a string");
        var aliasText = alias?.GetValue<string>();
        if (!string.IsNullOrEmpty(aliasText) && aliasText != StringAt(current, "alias")) fresh.Add(aliasText);

        if (content["alt_aliases"] is { } altNode)
        {
            if (altNode is not JsonArray alt) return MatrixError.InvalidParam("alt_aliases must be a list of aliases");
            var present = (current?["alt_aliases"] as JsonArray)?.Select(a => a is JsonValue x && x.TryGetValue<string>(out var s) ? s : null)
                .OfType<string>().ToHashSet(StringComparer.Ordinal) ?? [];
            foreach (var item in alt)
            {
                if (item is not JsonValue iv || !iv.TryGetValue<string>(out var entry)) return MatrixError.InvalidParam("alt_aliases must be a list of aliases");
                if (!present.Contains(entry) && !fresh.Contains(entry)) fresh.Add(entry);
            }
        }

        foreach (var entry in fresh)
            if (!RoomAlias.IsValid(entry)) return MatrixError.InvalidParam($"Not a valid room alias: {(entry.Length > 64 ? entry[..64] + "…" : entry)}");
        return Result<IReadOnlyList<string>>.Ok(fresh);
    }

    /// <summary>
    /// The second half of the check: every new alias resolves (<paramref name="roomOf"/>: the room an alias of this
    /// server names, null when unknown) to <paramref name="roomId"/>; else <c>400 M_BAD_ALIAS</c>, as the spec lists it
    /// and Synapse answers. An alias of another server cannot be resolved without federation, so it fails too.
    /// </summary>
    public static MatrixError? CheckAliasesPointTo(IEnumerable<string> aliases, string roomId, Func<string, string?> roomOf)
    {
        foreach (var alias in aliases)
            if (roomOf(alias) != roomId)
                return MatrixError.BadAlias($"The alias '{alias}' does not point to this room");
        return null;
    }

    private static string? StringAt(JsonObject? json, string key) =>
        json?[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
