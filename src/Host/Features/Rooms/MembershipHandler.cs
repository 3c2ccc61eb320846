using Marten;
using Matrix.Rooms.Domain.Rooms;
using NodaTime;
using Matrix.Rooms.Host.Infrastructure;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.Rooms;

/// <summary>
/// Wolverine handlers for the single-event room commands. Each is the same thin step — load, decide, append — so they
/// share <see cref="RoomWriter"/>; the rules that tell them apart live in the Domain.
/// </summary>
public static class MembershipHandler
{
    public static Task<RoomCommandResult> Handle(InviteUser command, IDocumentSession session, IClock clock, IOptions<MatrixRoomsOptions> options,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(command, session, clock, options.Value.RoomWriteQueue, metrics, ct);

    public static Task<RoomCommandResult> Handle(JoinRoom command, IDocumentSession session, IClock clock, IOptions<MatrixRoomsOptions> options,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(command, session, clock, options.Value.RoomWriteQueue, metrics, ct);

    public static Task<RoomCommandResult> Handle(LeaveRoom command, IDocumentSession session, IClock clock, IOptions<MatrixRoomsOptions> options,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(command, session, clock, options.Value.RoomWriteQueue, metrics, ct);

    public static Task<RoomCommandResult> Handle(KickUser command, IDocumentSession session, IClock clock, IOptions<MatrixRoomsOptions> options,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(command, session, clock, options.Value.RoomWriteQueue, metrics, ct);

    public static Task<RoomCommandResult> Handle(BanUser command, IDocumentSession session, IClock clock, IOptions<MatrixRoomsOptions> options,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(command, session, clock, options.Value.RoomWriteQueue, metrics, ct);

    public static Task<RoomCommandResult> Handle(UnbanUser command, IDocumentSession session, IClock clock, IOptions<MatrixRoomsOptions> options,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(command, session, clock, options.Value.RoomWriteQueue, metrics, ct);

    public static Task<RoomCommandResult> Handle(KnockRoom command, IDocumentSession session, IClock clock, IOptions<MatrixRoomsOptions> options,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(command, session, clock, options.Value.RoomWriteQueue, metrics, ct);

    public static Task<RoomCommandResult> Handle(SetRoomState command, IDocumentSession session, IClock clock, IOptions<MatrixRoomsOptions> options,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(command, session, clock, options.Value.RoomWriteQueue, metrics, ct);
}
