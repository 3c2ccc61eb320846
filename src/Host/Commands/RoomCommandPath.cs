using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Tooling.Seeding;
using Microsoft.Extensions.Options;
using Wolverine;

namespace Matrix.Rooms.Host.Commands;

/// <summary>The seeder's way to the room handlers: the same Wolverine commands a client request sends.</summary>
internal sealed class RoomCommandPath(IMessageBus bus, IOptions<MatrixRoomsOptions> options, Infrastructure.Sharding.RoomShards shards) : IRoomCommandPath
{
    public string ServerName => options.Value.ServerName;

    public async Task<MatrixError?> CreateRoomAsync(CreateRoom command, CancellationToken ct) =>
        (await bus.InvokeAsync<CreateRoomResult>(command, ct)).Error;

    public async Task<MatrixError?> SendAsync(RoomCommand command, CancellationToken ct) =>
        (await shards.InvokeAsync<RoomCommandResult>(bus, command, ct)).Error;
}
