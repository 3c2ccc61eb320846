using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>Keeps <see cref="RoomHead"/>: one row per room, moved forward by every event.</summary>
public sealed partial class RoomHeadProjection : EventProjection
{
    public RoomHeadProjection()
    {
        Name = "room_heads";
        foreach (var (clr, _) in MatrixEvent.StoredTypes) IncludeType(clr);
    }

    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        if (e.Data is MatrixEvent ev)
            operations.Store(new RoomHead { Id = ev.RoomId, LastEventId = ev.EventId, StreamVersion = e.Version });
        return ValueTask.CompletedTask;
    }
}
