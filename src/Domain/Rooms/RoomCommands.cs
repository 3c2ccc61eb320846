using System.Text.Json.Nodes;

namespace Matrix.Rooms.Domain.Rooms;

/// <summary>
/// A command on one room, sent by <see cref="Sender"/>. Each becomes at most one new event (see
/// <see cref="RoomDecider"/>); whether it is allowed is the authorization rules' decision.
/// </summary>
public abstract record RoomCommand
{
    public required string RoomId { get; init; }
    public required string Sender { get; init; }

    /// <summary>Set by the Host when the sender is a local guest account (see the guest policy).</summary>
    public bool SenderIsGuest { get; init; }
}

/// <summary>Invite by user ID (spec: <c>POST /rooms/{roomId}/invite</c> with <c>user_id</c>).</summary>
public sealed record InviteUser : RoomCommand
{
    public required string UserId { get; init; }
    public string? Reason { get; init; }
}

public sealed record JoinRoom : RoomCommand
{
    public string? Reason { get; init; }
    public string? DisplayName { get; init; }
}

public sealed record LeaveRoom : RoomCommand
{
    public string? Reason { get; init; }
}

public sealed record KickUser : RoomCommand
{
    public required string UserId { get; init; }
    public string? Reason { get; init; }
}

public sealed record BanUser : RoomCommand
{
    public required string UserId { get; init; }
    public string? Reason { get; init; }
}

public sealed record UnbanUser : RoomCommand
{
    public required string UserId { get; init; }
    public string? Reason { get; init; }
}

public sealed record KnockRoom : RoomCommand
{
    public string? Reason { get; init; }
}

/// <summary><c>PUT /rooms/{roomId}/state/{eventType}/{stateKey}</c>.</summary>
public sealed record SetRoomState : RoomCommand
{
    public required string EventType { get; init; }
    public required string StateKey { get; init; }
    public required JsonObject Content { get; init; }
}

/// <summary><c>PUT /rooms/{roomId}/send/{eventType}/{txnId}</c>; the transaction ID makes retries idempotent per device.</summary>
public sealed record SendRoomEvent : RoomCommand
{
    public required string EventType { get; init; }
    public required JsonObject Content { get; init; }
    public string? TransactionId { get; init; }

    /// <summary>For <c>m.room.redaction</c> sent with <c>PUT /rooms/{roomId}/redact/{eventId}/{txnId}</c>: the event it redacts.
    /// The decider puts it where the room version wants it (top-level <c>redacts</c> before v11, <c>content.redacts</c> from v11).</summary>
    public string? Redacts { get; init; }
}
