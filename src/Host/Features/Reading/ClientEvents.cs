using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Host.Features.Reading;

/// <summary>Events as the client-server API returns them ("ClientEvent"): no federation fields, no engine-internal marks.</summary>
public static class ClientEvents
{
    public static JsonObject ToClientJson(this MatrixEvent ev)
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
        return json;
    }

    public static JsonArray ToClientJson(this IEnumerable<MatrixEvent> events) => new(events.Select(e => (JsonNode)e.ToClientJson()).ToArray());
}
