using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Host.Features.Reading;

/// <summary>A redaction that applies to an event being served, and the room version whose algorithm redacts it.</summary>
public sealed record AppliedRedaction(MatrixEvent Redaction, RoomVersion Version);

/// <summary>
/// What a reader adds to the events it serves, loaded per page (<see cref="RoomReader.AnnotationsAsync"/>):
/// <c>txnId</c>s of the caller's device (spec "Transaction identifiers": <c>unsigned.transaction_id</c> goes to the sending
/// device only) and the redactions that apply (spec "Redactions").
/// </summary>
public sealed record EventAnnotations(IReadOnlyDictionary<string, string> TransactionIds, IReadOnlyDictionary<string, AppliedRedaction> Redactions)
{
    public static EventAnnotations None { get; } = new(new Dictionary<string, string>(), new Dictionary<string, AppliedRedaction>());
}

/// <summary>Events as the client-server API returns them ("ClientEvent"): no federation fields, no engine-internal marks.</summary>
public static class ClientEvents
{
    public static JsonObject ToClientJson(this MatrixEvent ev, EventAnnotations? annotations = null)
    {
        // A redacted event is served as the room version's redaction algorithm leaves it, with the redaction that did it
        // (spec "Redactions": "the server should … include … the redaction event in unsigned.redacted_because").
        var applied = annotations is not null && annotations.Redactions.TryGetValue(ev.EventId, out var r) ? r : null;
        var source = applied is null ? ev : Redaction.Redact(ev, applied.Version);
        var json = new JsonObject
        {
            ["event_id"] = source.EventId,
            ["room_id"] = source.RoomId,
            ["sender"] = source.Sender,
            ["type"] = source.Type,
            ["origin_server_ts"] = source.OriginServerTs.ToUnixTimeMilliseconds(),
            ["content"] = source.Content.DeepClone(),
        };
        if (source.StateKey is not null) json["state_key"] = source.StateKey;
        if (source.Redacts is not null) json["redacts"] = source.Redacts;
        // From v11 redacts is in content; older clients read it at the top level (Synapse copies it too).
        else if (source.Type == EventTypes.Redaction && source.ContentString("redacts") is { } inContent) json["redacts"] = inContent;
        if (source.Unsigned is { } unsigned)
        {
            var copy = (JsonObject)unsigned.DeepClone();
            copy.Remove(MemberEvent.GuestMarker);
            copy.Remove(MemberEvent.PreviousMembershipMarker);
            if (copy.Count > 0) json["unsigned"] = copy;
        }
        if (applied is not null) Unsigned(json)["redacted_because"] = applied.Redaction.ToClientJson();
        if (annotations is not null && annotations.TransactionIds.TryGetValue(ev.EventId, out var txnId)) Unsigned(json)["transaction_id"] = txnId;
        return json;
    }

    public static JsonArray ToClientJson(this IEnumerable<MatrixEvent> events, EventAnnotations? annotations = null) =>
        new(events.Select(e => (JsonNode)e.ToClientJson(annotations)).ToArray());

    private static JsonObject Unsigned(JsonObject json)
    {
        if (json["unsigned"] is JsonObject existing) return existing;
        var created = new JsonObject();
        json["unsigned"] = created;
        return created;
    }
}
