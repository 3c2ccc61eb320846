using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>Keeps <see cref="RoomMember"/>: one row per (room, user) with the membership of their latest member event.</summary>
public sealed partial class RoomMemberProjection : EventProjection
{
    public RoomMemberProjection()
    {
        Name = "room_members";
        IncludeType<MemberEvent>();
    }

    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        if (e.Data is MemberEvent { StateKey: { } userId } member)
        {
            operations.Store(new RoomMember
            {
                Id = RoomMember.IdFor(member.RoomId, userId),
                RoomId = member.RoomId,
                UserId = userId,
                Membership = member.Membership ?? "",
                DisplayName = member.ContentString("displayname"),
                AvatarUrl = member.ContentString("avatar_url"),
                IsGuest = member.IsGuest,
                EventId = member.EventId,
                Sender = member.Sender,
                StreamVersion = e.Version,
                ChangedAt = member.OriginServerTs,
            });
        }
        return ValueTask.CompletedTask;
    }
}
