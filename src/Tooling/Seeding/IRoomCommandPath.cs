using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Rooms;

namespace Matrix.Rooms.Tooling.Seeding;

/// <summary>
/// The server's room command path as the seeder's command path uses it: each command decided, appended and projected
/// by the server's own handlers, as for a client's request. The Host implements it; the tooling does not reference the
/// Host, so it sees the server only through this.
/// </summary>
public interface IRoomCommandPath
{
    /// <summary>The server name of this Host's user and room IDs.</summary>
    string ServerName { get; }

    /// <summary>Creates a room; null when created, else the refusal.</summary>
    Task<MatrixError?> CreateRoomAsync(CreateRoom command, CancellationToken ct);

    /// <summary>Sends a room command; null when its event was appended, else the refusal.</summary>
    Task<MatrixError?> SendAsync(RoomCommand command, CancellationToken ct);
}
