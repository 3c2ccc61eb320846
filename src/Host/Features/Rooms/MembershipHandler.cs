using Marten;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Infrastructure;
using NodaTime;

namespace Matrix.Rooms.Host.Features.Rooms;

/// <summary>
/// Wolverine handlers for the single-event room commands, in Wolverine's compound-handler style: the middleware loads
/// (<see cref="RoomWriteMiddleware"/>, attached by <see cref="WritesToRoomAttribute"/>: lock, head, the few state rows), the Domain decides, the handler appends, and
/// Wolverine's transactional middleware commits. The rules that tell the commands apart live in the Domain.
/// </summary>
[WritesToRoom]
public static class MembershipHandler
{
    public static Task<RoomCommandResult> Handle(InviteUser command, RoomWrite write, IDocumentSession session, IClock clock,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(write, session, clock, metrics, ct);

    public static Task<RoomCommandResult> Handle(JoinRoom command, RoomWrite write, IDocumentSession session, IClock clock,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(write, session, clock, metrics, ct);

    public static Task<RoomCommandResult> Handle(LeaveRoom command, RoomWrite write, IDocumentSession session, IClock clock,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(write, session, clock, metrics, ct);

    public static Task<RoomCommandResult> Handle(KickUser command, RoomWrite write, IDocumentSession session, IClock clock,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(write, session, clock, metrics, ct);

    public static Task<RoomCommandResult> Handle(BanUser command, RoomWrite write, IDocumentSession session, IClock clock,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(write, session, clock, metrics, ct);

    public static Task<RoomCommandResult> Handle(UnbanUser command, RoomWrite write, IDocumentSession session, IClock clock,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(write, session, clock, metrics, ct);

    public static Task<RoomCommandResult> Handle(KnockRoom command, RoomWrite write, IDocumentSession session, IClock clock,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(write, session, clock, metrics, ct);

    public static Task<RoomCommandResult> Handle(SetRoomState command, RoomWrite write, IDocumentSession session, IClock clock,
        MatrixRoomsMetrics metrics, CancellationToken ct) => RoomWriter.DecideAndAppendAsync(write, session, clock, metrics, ct);
}
