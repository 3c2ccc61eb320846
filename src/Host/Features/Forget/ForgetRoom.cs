using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Host.Infrastructure.Sharding;
using Matrix.Rooms.Projections.Documents;
using NodaTime;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Forget;

/// <summary>
/// A room the user forgot (spec "Leaving rooms": it no longer appears to them, e.g. in <c>/sync</c>'s left rooms).
/// <see cref="MembershipVersion"/> is the user's membership event when they forgot: a later membership change (a new
/// join or invite) makes the room theirs again without anyone deleting this record.
/// </summary>
public sealed record ForgottenRoom
{
    public required string Id { get; init; }
    public required string UserId { get; init; }
    public required string RoomId { get; init; }
    public long MembershipVersion { get; init; }
    public Instant ForgottenAt { get; init; }

    public static string IdFor(string userId, string roomId) => $"{userId}|{roomId}";

    /// <summary>Whether the record still applies to <paramref name="member"/> (the user's current membership row).</summary>
    public bool AppliesTo(RoomMember? member) => member is null || member.StreamVersion == MembershipVersion;
}

public sealed record ForgetRoom(string UserId, string RoomId, long MembershipVersion);

public static class ForgetRoomHandler
{
    public static void Handle(ForgetRoom command, IDocumentSession session, IClock clock) =>
        session.Store(new ForgottenRoom
        {
            Id = ForgottenRoom.IdFor(command.UserId, command.RoomId), UserId = command.UserId, RoomId = command.RoomId,
            MembershipVersion = command.MembershipVersion, ForgottenAt = clock.GetCurrentInstant(),
        });
}

/// <summary>
/// <c>POST /rooms/{roomId}/forget</c> (spec leaving.yaml): only a room the caller is not joined to (<c>400 M_UNKNOWN</c>
/// otherwise). Afterwards the caller can no longer read the room's history (<see cref="Reading.RoomReader"/>) unless it is
/// world-readable, until their membership changes again.
/// </summary>
public static class ForgetRoomEndpoint
{
    public static void MapForgetRoom(this IEndpointRouteBuilder api) =>
        api.MapPost("/rooms/{roomId}/forget", async (HttpContext http, Caller caller, string roomId, IQuerySession session, IMessageBus bus,
            CancellationToken ct) =>
        {
            RoomEndpoints.ValidateRoomId(roomId);
            await http.Request.ReadObjectAsync(ct);
            var member = await http.RoomSession(roomId).LoadAsync<RoomMember>(RoomMember.IdFor(roomId, caller.UserId), ct);
            if (member is null) return MatrixHttp.Error(MatrixError.NotFound($"{caller.UserId} has never been in room {roomId}"));
            if (member.Membership == Memberships.Join)
                return MatrixHttp.Error(new MatrixError(400, "M_UNKNOWN", $"User {caller.UserId} is in room {roomId}"));
            await bus.InvokeAsync(new ForgetRoom(caller.UserId, roomId, member.StreamVersion), ct);
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.ForgetRoom);
}
