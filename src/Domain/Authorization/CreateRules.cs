using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;

namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// Spec authorization rule 1: "If type is m.room.create: …" (v1–v10; v11 drops the <c>creator</c> check; v12 replaces
/// the room-ID domain check with "If the event has a room_id, reject" and adds the <c>additional_creators</c> check).
/// </summary>
public static class CreateRules
{
    public static AuthDecision Check(MatrixEvent ev, IAuthState state, RoomVersion version)
    {
        // m.room.create is a state event whose state_key is a zero-length string (client-server API
        // "m.room.create"); an event without one cannot be the room's create event.
        if (ev.StateKey != "")
            return AuthDecision.Refuse(AuthRule.CreateStateKeyNotEmpty,
                ev.StateKey is null
                    ? "An m.room.create event must be a state event with an empty state_key, but it has no state_key"
                    : $"An m.room.create event must have an empty state_key, not '{ev.StateKey}'");

        // Since v1: If it has any prev_events, reject.
        if (PrevEvents.Count(ev) > 0)
            return AuthDecision.Refuse(AuthRule.CreateHasPrevEvents,
                "An m.room.create event must be the first event in the room, but it has prev_events");

        // The same rule on this engine's single timeline: the state before the create event is empty, so a room that
        // already has an m.room.create event cannot take another.
        if (state.Get(EventAuth.CreateKey) is { } existing)
            return AuthDecision.Refuse(AuthRule.CreateNotFirstEvent,
                $"The room {existing.RoomId} already has an m.room.create event ({existing.EventId}); " +
                "a create event must be the first event in the room");

        var senderServer = UserId.ServerOf(ev.Sender);
        if (senderServer is null)
            return AuthDecision.Refuse(AuthRule.CreateSenderInvalid,
                $"The sender '{ev.Sender}' is not a valid user ID");

        if (version.RoomIdIsCreateEventId)
        {
            // Since v12: If the event has a room_id, reject. (The room ID is the event ID with the sigil !.)
            // The engine's own form of the create event names the room it derived (Pdu.Of leaves it out again), so
            // only a room_id other than that one is a room_id of the PDU.
            if (!string.IsNullOrEmpty(ev.RoomId) && ev.RoomId != DerivedRoomId(ev.EventId))
                return AuthDecision.Refuse(AuthRule.CreateHasRoomId,
                    $"An m.room.create event in {version} must not have a room_id (it has {ev.RoomId}): the room ID " +
                    "is the create event's ID with the sigil !");
        }
        else if (CheckRoomIdDomain(ev, senderServer) is { } refused)
            return refused;

        // Since v1: If content.room_version is present and is not a recognised version, reject.
        if (ev.Content.TryGetPropertyValue("room_version", out var roomVersion)
            && RoomVersion.Get(roomVersion is JsonValue v && v.TryGetValue<string>(out var id) ? id : null) is null)
            return AuthDecision.Refuse(AuthRule.CreateRoomVersionUnknown,
                $"The room version {roomVersion?.ToJsonString() ?? "null"} is not one this server recognises (1–12)");

        // Since v12: If additional_creators is present in content and is not an array of strings where each string
        // passes the same user ID validation applied to sender, reject.
        if (version.PrivilegedCreators && ev.Content.TryGetPropertyValue("additional_creators", out var additional)
            && AdditionalCreatorsProblem(additional) is { } problem)
            return AuthDecision.Refuse(AuthRule.CreateAdditionalCreatorsInvalid,
                $"content.additional_creators must be an array of user IDs: {problem}");

        // v1–v10: If content has no creator property, reject.
        if (!version.UseRoomCreateSender && !ev.Content.ContainsKey("creator"))
            return AuthDecision.Refuse(AuthRule.CreateCreatorMissing,
                $"An m.room.create event in {version} must name the room's creator in content.creator");

        // Since v1: Otherwise, allow.
        return AuthDecision.Allow(AuthRule.CreateAllowed,
            version.RoomIdIsCreateEventId
                ? $"{ev.Sender} creates the room {RoomId.FromCreateEventId(ev.EventId)}"
                : $"{ev.Sender} creates the room {ev.RoomId}");
    }

    /// <summary>v1–v11: If the domain of the room_id does not match the domain of the sender, reject.</summary>
    private static AuthDecision? CheckRoomIdDomain(MatrixEvent ev, string senderServer)
    {
        var roomServer = RoomId.ServerOf(ev.RoomId);
        if (roomServer is null)
            return AuthDecision.Refuse(AuthRule.CreateRoomIdInvalid,
                $"The room ID '{ev.RoomId}' is not a valid room ID, so its domain cannot match the sender's");
        if (roomServer != senderServer)
            return AuthDecision.Refuse(AuthRule.CreateRoomIdServerMismatch,
                $"The room ID {ev.RoomId} is on {roomServer}, but the room's creator {ev.Sender} is on {senderServer}");
        return null;
    }

    private static string? AdditionalCreatorsProblem(JsonNode? node)
    {
        if (node is not JsonArray array) return $"it is {node?.ToJsonString() ?? "null"}";
        foreach (var item in array)
            if (item is not JsonValue value || !value.TryGetValue<string>(out var userId) || !UserId.IsValidHistorical(userId))
                return $"{item?.ToJsonString() ?? "null"} is not a user ID";
        return null;
    }

    /// <summary>
    /// v12: the room creators — the create event's sender and the user IDs of <c>content.additional_creators</c>
    /// (spec v12 "Authorization rules", the note on room creators). Earlier versions have no such notion here.
    /// </summary>
    public static IReadOnlyList<string> CreatorsOf(MatrixEvent create)
    {
        var creators = new List<string> { create.Sender };
        if (create.Content["additional_creators"] is JsonArray additional)
            foreach (var item in additional)
                if (item is JsonValue value && value.TryGetValue<string>(out var userId) && !creators.Contains(userId))
                    creators.Add(userId);
        return creators;
    }

    private static string? DerivedRoomId(string eventId) => eventId.StartsWith('$') ? RoomId.FromCreateEventId(eventId) : null;
}

/// <summary>Reads <c>prev_events</c> in either shape: <c>[[event_id, hashes], …]</c> (v1–v2) or <c>[event_id, …]</c> (v3+).</summary>
internal static class PrevEvents
{
    public static int Count(MatrixEvent ev) => ev.PrevEvents?.Count ?? 0;

    public static string? IdAt(MatrixEvent ev, int index) => ev.PrevEvents?[index] switch
    {
        JsonValue v when v.TryGetValue<string>(out var id) => id,
        JsonArray { Count: > 0 } pair when pair[0] is JsonValue v && v.TryGetValue<string>(out var id) => id,
        _ => null,
    };

}
