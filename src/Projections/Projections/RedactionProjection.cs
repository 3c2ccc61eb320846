using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>Keeps <see cref="RoomRedaction"/>: one insert per redaction, never a read, so appending stays cheap.</summary>
public sealed partial class RedactionProjection : EventProjection
{
    public RedactionProjection()
    {
        Name = "redactions";
        IncludeType<RedactionEvent>();
    }

    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        if (e.Data is RedactionEvent ev && (ev.Redacts ?? ev.ContentString("redacts")) is { } redacts)
            operations.Store(new RoomRedaction { Id = ev.EventId, RoomId = ev.RoomId, Redacts = redacts, Position = e.Version, Event = ev });
        return ValueTask.CompletedTask;
    }
}
