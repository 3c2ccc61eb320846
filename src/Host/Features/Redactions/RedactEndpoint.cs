using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure.Http;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Redactions;

/// <summary>
/// <c>PUT /rooms/{roomId}/redact/{eventId}/{txnId}</c> (spec client-server "Redactions"): an <c>m.room.redaction</c>
/// sent like <c>PUT /send</c> — the same handler (<see cref="SendEventHandler"/>), so the same lock, rules and
/// transaction idempotence; the decider places <c>redacts</c> per room version. Whether the redaction then applies
/// (own event, or the redact power level) is decided when events are read (<c>RoomReader.AnnotationsAsync</c>).
/// </summary>
public static class RedactEndpoint
{
    public static void MapRedact(this IEndpointRouteBuilder api) =>
        api.MapPut("/rooms/{roomId}/redact/{eventId}/{txnId}", async (HttpContext http, Caller caller, string roomId, string eventId, string txnId,
            IMessageBus bus, CancellationToken ct) =>
        {
            RoomEndpoints.ValidateRoomId(roomId);
            if (!Domain.Identifiers.EventId.IsValid(eventId)) throw new MatrixException(MatrixError.InvalidParam($"Not a valid event ID: {eventId}"));
            var body = await http.Request.ReadObjectAsync(ct);
            var content = new JsonObject();
            if (body.OptionalString("reason") is { } reason) content["reason"] = reason;
            var result = await bus.InvokeAsync<RoomCommandResult>(new SendRoomEvent
            {
                RoomId = roomId,
                Sender = caller.UserId,
                SenderIsGuest = caller.IsGuest,
                EventType = EventTypes.Redaction,
                Content = content,
                Redacts = eventId,
                TransactionId = SentTransaction.KeyForRedaction(caller.UserId, caller.DeviceId, roomId, eventId, txnId),
            }, ct);
            return RoomEndpoints.EventIdOrError(result);
        }).For(ClientEndpoint.Redact).RequireRateLimiting(MatrixRateLimits.Send);
}
