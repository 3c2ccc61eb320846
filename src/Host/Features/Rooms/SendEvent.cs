using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure.Http;
using NodaTime;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Rooms;

/// <summary>Remembers which event a (device, txnId) produced, so a retried send returns the same event (spec "Transaction identifiers").</summary>
public sealed record SentTransaction
{
    public required string Id { get; init; }
    public required string EventId { get; init; }
}

public static class SendEventHandler
{
    public static async Task<RoomCommandResult> Handle(SendRoomEvent command, IDocumentSession session, IClock clock, Envelope envelope,
        CancellationToken ct)
    {
        if (command.TransactionId is { } txn && await session.LoadAsync<SentTransaction>(txn, ct) is { } earlier)
            return new RoomCommandResult(command.RoomId, earlier.EventId, null);
        var result = await RoomWriter.DecideAndAppendAsync(command, session, clock, envelope, ct);
        if (result.Succeeded && command.TransactionId is { } id)
            session.Insert(new SentTransaction { Id = id, EventId = result.EventId! });
        return result;
    }
}

public static class SendEventEndpoint
{
    public static void MapSendEvent(this IEndpointRouteBuilder api) =>
        api.MapPut("/rooms/{roomId}/send/{eventType}/{txnId}", async (HttpContext http, string roomId, string eventType, string txnId,
            IMessageBus bus, CancellationToken ct) =>
        {
            var caller = await http.RequireCallerAsync();
            RoomEndpoints.ValidateRoomId(roomId);
            var content = await http.Request.ReadObjectAsync(ct);
            var result = await bus.InvokeAsync<RoomCommandResult>(new SendRoomEvent
            {
                RoomId = roomId,
                Sender = caller.UserId,
                SenderIsGuest = caller.IsGuest,
                EventType = eventType,
                Content = content,
                // Scoped to the device: the spec makes txnIds unique per access token / device.
                TransactionId = $"{caller.UserId}|{caller.DeviceId}|{txnId}",
            }, ct);
            return RoomEndpoints.EventIdOrError(result);
        }).For(ClientEndpoint.SendEvent).RequireRateLimiting(MatrixRateLimits.Send);
}
