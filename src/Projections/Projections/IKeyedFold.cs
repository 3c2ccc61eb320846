using JasperFx.Events;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>
/// An aggregation whose grouping and fold are plain functions of the event: the key an event belongs to
/// (<see cref="KeyOf"/>, the same function Marten's slicing uses) and the projection's own <c>Evolve</c>. The bulk
/// replay (rebuild, import, verification) folds such a projection in memory with exactly these two, so it gives the
/// documents Marten's inline aggregation gives, without loading them from a store.
/// </summary>
public interface IKeyedFold
{
    Type DocumentType { get; }

    /// <summary>The document this event folds into, or null when it belongs to none.</summary>
    string? KeyOf(IEvent e);

    /// <summary>The document after <paramref name="e"/> (null: deleted / none).</summary>
    object? Fold(object? current, string key, IEvent e);
}
