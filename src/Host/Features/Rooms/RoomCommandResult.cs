using Matrix.Rooms.Domain.Errors;

namespace Matrix.Rooms.Host.Features.Rooms;

/// <summary>The answer to a room command: the new event's ID, or the Matrix error that refused it (nothing appended).</summary>
public sealed record RoomCommandResult(string RoomId, string? EventId, MatrixError? Error)
{
    public bool Succeeded => Error is null;
}
