namespace Matrix.Rooms.Host.Features.RoomDirectory;

/// <summary>
/// A room's visibility in the public room directory (spec "Room directory": <c>public</c> when published to
/// <c>/publicRooms</c>, else <c>private</c>) — what <c>GET /rooms/{roomId}/initialSync</c> answers as <c>visibility</c>.
/// The seam for the directory: until it is served, <see cref="UnpublishedRoomDirectory"/> answers that no room is
/// published; the directory replaces it by registering its own (<c>services.AddScoped&lt;IRoomDirectoryVisibility, …&gt;()</c>
/// before or after <c>AddMatrixRooms</c>: the default is added with <c>TryAdd</c>).
/// </summary>
public interface IRoomDirectoryVisibility
{
    Task<bool> IsPublishedAsync(string roomId, CancellationToken ct);
}

/// <summary>No room directory: every room is <c>private</c> (not published), whatever its join rule or history visibility.</summary>
public sealed class UnpublishedRoomDirectory : IRoomDirectoryVisibility
{
    public Task<bool> IsPublishedAsync(string roomId, CancellationToken ct) => Task.FromResult(false);
}
