using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>
/// Keeps the per-room history-visibility timeline and the per-(room, user) membership timelines that the history
/// visibility filter reads, so "may user U see event E" is two small index reads and a binary search, never a replay.
/// </summary>
public sealed partial class VisibilityTimelineProjection : EventProjection
{
    public VisibilityTimelineProjection()
    {
        Name = "visibility_timelines";
        IncludeType<HistoryVisibilityEvent>();
        IncludeType<MemberEvent>();
    }

    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        switch (e.Data)
        {
            case HistoryVisibilityEvent { StateKey: "" } hv:
                operations.Store(new VisibilityTimelineEntry
                {
                    Id = VisibilityTimelineEntry.IdFor(hv.RoomId, e.Version), RoomId = hv.RoomId, Position = e.Version, Value = hv.HistoryVisibility,
                });
                break;
            case MemberEvent { StateKey: { } userId } member:
                operations.Store(new MembershipTimelineEntry
                {
                    Id = MembershipTimelineEntry.IdFor(member.RoomId, userId, e.Version), RoomId = member.RoomId, UserId = userId,
                    Position = e.Version, Membership = member.Membership,
                });
                break;
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>Keeps <see cref="RoomEventLocation"/>: event ID → (room, position).</summary>
public sealed partial class EventLocationProjection : EventProjection
{
    public EventLocationProjection()
    {
        Name = "event_locations";
        foreach (var (clr, _) in MatrixEvent.StoredTypes) IncludeType(clr);
    }

    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        if (e.Data is MatrixEvent ev)
            operations.Store(new RoomEventLocation { Id = ev.EventId, RoomId = ev.RoomId, Position = e.Version });
        return ValueTask.CompletedTask;
    }
}
