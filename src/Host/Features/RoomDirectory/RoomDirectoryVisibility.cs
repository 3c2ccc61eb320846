using Marten;

namespace Matrix.Rooms.Host.Features.RoomDirectory;

/// <summary>
/// A room's visibility in the public room directory (spec "Room directory": <c>public</c> when published to
/// <c>/publicRooms</c>, else <c>private</c>) — what <c>GET /rooms/{roomId}/initialSync</c> answers as <c>visibility</c>.
/// The Host answers from its <see cref="PublishedRoom"/> documents (<see cref="PublishedRoomDirectory"/>); an embedder with a
/// directory of its own registers another implementation (the default is added with <c>TryAdd</c>).
/// </summary>
public interface IRoomDirectoryVisibility
{
    Task<bool> IsPublishedAsync(string roomId, CancellationToken ct);
}

/// <summary>Published while the room's <see cref="PublishedRoom"/> document exists (<c>PUT /directory/list/room/{roomId}</c>,
/// <c>createRoom</c> with <c>visibility: public</c>).</summary>
public sealed class PublishedRoomDirectory(IQuerySession session) : IRoomDirectoryVisibility
{
    public async Task<bool> IsPublishedAsync(string roomId, CancellationToken ct) =>
        await session.LoadAsync<PublishedRoom>(roomId, ct) is not null;
}
