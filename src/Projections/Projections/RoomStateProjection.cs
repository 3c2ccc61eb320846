using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>
/// Keeps <see cref="RoomStateEntry"/>: for every state event, the row for its (room, type, state_key) now holds it.
/// Inline, so a command handler reads state that is consistent with the stream version it appends after.
/// </summary>
public sealed partial class RoomStateProjection : EventProjection
{
    public RoomStateProjection()
    {
        Name = "room_state";
        foreach (var (clr, _) in MatrixEvent.StoredTypes) IncludeType(clr);
    }

    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        if (e.Data is MatrixEvent { IsState: true } ev)
        {
            operations.Store(new RoomStateEntry
            {
                Id = RoomStateEntry.IdFor(ev.RoomId, ev.Key),
                RoomId = ev.RoomId,
                Type = ev.Type,
                StateKey = ev.StateKey!,
                Event = ev,
                StreamVersion = e.Version,
            });
        }
        return ValueTask.CompletedTask;
    }
}
