using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Features.Reading;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure.Http;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Redactions;

/// <summary>
/// <c>PUT /rooms/{roomId}/redact/{eventId}/{txnId}</c> (spec client-server "Redactions"): an <c>m.room.redaction</c>
/// sent like <c>PUT /send</c> — the same handler (<see cref="SendEventHandler"/>), so the same lock, rules and
/// transaction idempotence; the decider places <c>redacts</c> per room version. A redaction of another user's event by
/// a sender below the <c>redact</c> level is refused before it is sent (<c>403 M_FORBIDDEN</c>, as Synapse; the spec's
/// rule is <see cref="Redaction.MayRedact"/>); an event the room does not hold is then <c>404 M_NOT_FOUND</c>. Whether
/// a stored redaction applies is still decided when events are read (<c>RoomReader.AnnotationsAsync</c>), with the
/// same rule: power levels may change after the send.
/// </summary>
public static class RedactEndpoint
{
    public static void MapRedact(this IEndpointRouteBuilder api) =>
        api.MapPut("/rooms/{roomId}/redact/{eventId}/{txnId}", async (HttpContext http, Caller caller, string roomId, string eventId, string txnId,
            IMessageBus bus, IQuerySession session, RoomReader reader, CancellationToken ct) =>
        {
            RoomEndpoints.ValidateRoomId(roomId);
            if (!Domain.Identifiers.EventId.IsValid(eventId)) throw new MatrixException(MatrixError.InvalidParam($"Not a valid event ID: {eventId}"));
            var body = await http.Request.ReadObjectAsync(ct);
            var rooms = http.RequestServices.GetRequiredService<Infrastructure.Sharding.RoomSessions>();
            if (await RefusalAsync(rooms.For(roomId), reader, roomId, eventId, caller.UserId, ct) is { } refused) return MatrixHttp.Error(refused);
            var content = new JsonObject();
            if (body.OptionalString("reason") is { } reason) content["reason"] = reason;
            var result = await rooms.Shards.InvokeAsync<RoomCommandResult>(bus, new SendRoomEvent
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

    /// <summary>Synapse's check before a redaction is sent: below the <c>redact</c> level, only one's own event (which
    /// must then exist in the room). A room without a usable create event is left to the handler's answer.</summary>
    private static async Task<MatrixError?> RefusalAsync(IQuerySession session, RoomReader reader, string roomId, string eventId, string sender,
        CancellationToken ct)
    {
        var (_, state) = await RoomWriter.LoadAsync(session, roomId, [EventAuth.CreateKey, EventAuth.PowerLevelsKey], ct);
        if (state.Get(EventAuth.CreateKey) is not CreateEvent create || RoomVersion.Get(create.RoomVersion) is not { } version) return null;
        var levels = PowerLevels.Current(state.Get(EventAuth.PowerLevelsKey), create, version);
        if (levels.UserLevel(sender) >= levels.Redact) return null;
        if (await reader.EventAsync(roomId, eventId, ct) is not { } original)
            return MatrixError.NotFound($"Could not find event {eventId} in {roomId}");
        return Redaction.MayRedact(sender, original.Event.Sender, levels)
            ? null
            : MatrixError.Forbidden($"{sender} may not redact {eventId}, an event of {original.Event.Sender}: redacting other users' events needs the redact power level ({levels.Redact}); {sender} has {levels.UserLevel(sender)}");
    }
}
