using Marten;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using NodaTime;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Rooms;

/// <summary>
/// Remembers which event a send produced, so a retransmission answers the same event (spec "Transaction identifiers":
/// a retransmission has the same transaction ID and request path, from the same device). Stored in the transaction
/// that appends the event, so the two exist together or not at all.
/// </summary>
public sealed record SentTransaction
{
    /// <summary>See <see cref="KeyFor"/>.</summary>
    public required string Id { get; init; }
    public required string EventId { get; init; }

    /// <summary>The sending user, device and the client's <c>txnId</c>: readers answer <c>unsigned.transaction_id</c> to that device.</summary>
    public string? UserId { get; init; }
    public string? DeviceId { get; init; }
    public string? TxnId { get; init; }

    /// <summary>The record of the send <paramref name="key"/> (<see cref="KeyFor"/>) that produced <paramref name="eventId"/>.</summary>
    public static SentTransaction For(string key, string eventId)
    {
        var parts = key.Split('/').Select(Uri.UnescapeDataString).ToArray();
        return new SentTransaction
        {
            Id = key, EventId = eventId,
            UserId = parts.Length is 5 or 6 ? parts[0] : null, DeviceId = parts.Length is 5 or 6 ? parts[1] : null, TxnId = parts.Length is 5 or 6 ? parts[^1] : null,
        };
    }

    /// <summary>
    /// The transaction's scope: device and request path (room, event type, txnId). Each part is escaped before joining,
    /// so no choice of event type or txnId can collide with another path.
    /// </summary>
    public static string KeyFor(string userId, string deviceId, string roomId, string eventType, string txnId) =>
        string.Join('/', new[] { userId, deviceId, roomId, eventType, txnId }.Select(Uri.EscapeDataString));

    /// <summary>The scope of <c>PUT /rooms/{roomId}/redact/{eventId}/{txnId}</c>: six parts, so it never equals a send's five.</summary>
    public static string KeyForRedaction(string userId, string deviceId, string roomId, string eventId, string txnId) =>
        string.Join('/', new[] { userId, deviceId, roomId, "redact", eventId, txnId }.Select(Uri.EscapeDataString));
}

/// <summary>A send: the transaction is looked up under the room's lock (<see cref="RoomWriteMiddleware"/>), so two simultaneous
/// retransmissions queue and the second finds what the first stored.</summary>
[WritesToRoom]
public static class SendEventHandler
{
    public static Task<RoomCommandResult> Handle(SendRoomEvent command, RoomWrite write, IDocumentSession session, IClock clock,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(write, session, clock, metrics, ct);
}

public static class SendEventEndpoint
{
    public static void MapSendEvent(this IEndpointRouteBuilder api) =>
        api.MapPut("/rooms/{roomId}/send/{eventType}/{txnId}", async (HttpContext http, Caller caller, string roomId, string eventType, string txnId,
            IMessageBus bus, CancellationToken ct) =>
        {
            RoomEndpoints.ValidateRoomId(roomId);
            var content = await http.Request.ReadObjectAsync(ct);
            var result = await http.RequestServices.GetRequiredService<Infrastructure.Sharding.RoomShards>().InvokeAsync<RoomCommandResult>(bus, new SendRoomEvent
            {
                RoomId = roomId,
                Sender = caller.UserId,
                SenderIsGuest = caller.IsGuest,
                EventType = eventType,
                Content = content,
                TransactionId = SentTransaction.KeyFor(caller.UserId, caller.DeviceId, roomId, eventType, txnId),
            }, ct);
            return RoomEndpoints.EventIdOrError(result);
        }).For(ClientEndpoint.SendEvent).RequireRateLimiting(MatrixRateLimits.Send);
}
