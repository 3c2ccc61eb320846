using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Host.Features.Reading;

/// <summary>Events as the client-server API returns them ("ClientEvent"): no federation fields, no engine-internal marks.</summary>
public static class ClientEvents
{
    /// <param name="transactionIds">Event ID → the <c>txnId</c> the caller's own device sent it with (spec "Transaction identifiers":
    /// <c>unsigned.transaction_id</c> goes to the sending device only); see <see cref="RoomReader.TransactionIdsAsync"/>.</param>
    public static JsonObject ToClientJson(this MatrixEvent ev, IReadOnlyDictionary<string, string>? transactionIds = null)
    {
        var json = new JsonObject
        {
            ["event_id"] = ev.EventId,
            ["room_id"] = ev.RoomId,
            ["sender"] = ev.Sender,
            ["type"] = ev.Type,
            ["origin_server_ts"] = ev.OriginServerTs.ToUnixTimeMilliseconds(),
            ["content"] = ev.Content.DeepClone(),
        };
        if (ev.StateKey is not null) json["state_key"] = ev.StateKey;
        if (ev.Redacts is not null) json["redacts"] = ev.Redacts;
        if (ev.Unsigned is { } unsigned)
        {
            var copy = (JsonObject)unsigned.DeepClone();
            copy.Remove(MemberEvent.GuestMarker);
            if (copy.Count > 0) json["unsigned"] = copy;
        }
        if (transactionIds is not null && transactionIds.TryGetValue(ev.EventId, out var txnId))
        {
            var unsignedJson = json["unsigned"] as JsonObject ?? new JsonObject();
            unsignedJson["transaction_id"] = txnId;
            json["unsigned"] = unsignedJson;
        }
        return json;
    }

    public static JsonArray ToClientJson(this IEnumerable<MatrixEvent> events, IReadOnlyDictionary<string, string>? transactionIds = null) =>
        new(events.Select(e => (JsonNode)e.ToClientJson(transactionIds)).ToArray());
}
