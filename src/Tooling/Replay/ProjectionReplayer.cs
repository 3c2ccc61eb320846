using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Matrix.Rooms.Projections.Projections;

namespace Matrix.Rooms.Tooling.Replay;

/// <summary>One registered projection as the tooling sees it: its name, version, lifecycle and Marten source.</summary>
public sealed record ProjectionInfo(string Name, uint Version, ProjectionLifecycle Lifecycle, IProjectionSource<IDocumentOperations, IQuerySession> Source)
{
    /// <summary>The progression rows Marten keeps for it (e.g. <c>room_state:All</c>, <c>room_state:V2:All</c>).</summary>
    public IReadOnlyList<string> ShardIdentities => Source.ShardNames().Select(s => s.Identity).ToList();

    /// <summary>The document types it declares (Marten's published types); a rebuild wipes these first.</summary>
    public IReadOnlyList<Type> PublishedTypes => Source.PublishedTypes().ToList();

    public override string ToString() => Version > 1 ? $"{Name} (v{Version})" : Name;
}

/// <summary>The projections registered in the store, by name.</summary>
public static class ProjectionCatalog
{
    /// <summary>Every projection that stores documents (Inline or Async); Live aggregations store nothing and are left out.</summary>
    public static IReadOnlyList<ProjectionInfo> All(IDocumentStore store) =>
        ((StoreOptions)store.Options).Projections.All
            .Select(source => source is ProjectionBase p ? new ProjectionInfo(p.Name, p.Version, p.Lifecycle, source) : null)
            .OfType<ProjectionInfo>()
            .Where(p => p.Lifecycle != ProjectionLifecycle.Live)
            .ToList();

    /// <summary>The named projections (all when <paramref name="names"/> is empty); an unknown name is an error naming the known ones.</summary>
    public static IReadOnlyList<ProjectionInfo> Select(IDocumentStore store, IReadOnlyCollection<string> names)
    {
        var all = All(store);
        if (names.Count == 0) return all;
        var unknown = names.Where(n => all.All(p => !string.Equals(p.Name, n, StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException(
                $"Unknown projection {string.Join(", ", unknown.Select(u => $"'{u}'"))}; registered: {string.Join(", ", all.Select(p => p.Name))}");
        return all.Where(p => names.Any(n => string.Equals(p.Name, n, StringComparison.OrdinalIgnoreCase))).ToList();
    }
}

/// <summary>A projection that failed while being replayed, and why.</summary>
public sealed class ProjectionReplayException(ProjectionInfo projection, Exception inner)
    : Exception($"Projection {projection} failed during replay: {inner.Message}", inner)
{
    public ProjectionInfo Projection { get; } = projection;
}

/// <summary>
/// Runs events through projections in memory, the way Marten's inline path runs them (each projection's
/// <c>BuildForInline()</c>), recording the documents they write into <see cref="DocumentChanges"/> instead of the database.
/// The same replay serves the rebuild, the bulk import and the verification, so all three agree with the inline
/// projection code by construction.
/// </summary>
public sealed class ProjectionReplayer
{
    private readonly List<(ProjectionInfo Info, IInlineProjection<IDocumentOperations> Inline, Type[] Types)> _projections;

    public ProjectionReplayer(IEnumerable<ProjectionInfo> projections)
    {
        _projections = projections
            .Select(p => (p, p.Source.BuildForInline(), (p.Source as EventFilterable)?.IncludedEventTypes.ToArray() ?? []))
            .ToList();
    }

    /// <summary>The documents of keyed folds (<see cref="IKeyedFold"/>) as folded so far, by projection name and key.</summary>
    private readonly Dictionary<string, Dictionary<string, object?>> _folded = new(StringComparer.Ordinal);

    public IReadOnlyList<ProjectionInfo> Projections => _projections.Select(p => p.Info).ToList();

    /// <summary>This replayer without <paramref name="projection"/>, keeping what the others folded so far.</summary>
    public ProjectionReplayer Without(ProjectionInfo projection)
    {
        var next = new ProjectionReplayer(Projections.Where(p => p != projection));
        foreach (var (name, folded) in _folded) next._folded[name] = folded;
        return next;
    }

    /// <summary>Applies <paramref name="events"/> (in sequence order) to every projection, recording their writes.</summary>
    /// <exception cref="ProjectionReplayException">A projection threw, or needs an operation the replay cannot record.</exception>
    public async Task ApplyAsync(IReadOnlyList<IEvent> events, DocumentChanges changes, CancellationToken ct)
    {
        if (events.Count == 0) return;
        var operations = DocumentRecorder.Create(changes);
        // Folded documents change for good only once every projection took the events (a retried page starts over).
        var overlays = new Dictionary<string, Dictionary<string, object?>>(StringComparer.Ordinal);
        foreach (var (info, inline, types) in _projections)
        {
            var streams = StreamsOf(events, types);
            if (streams.Count == 0) continue;
            if (info.Source is IKeyedFold fold)
            {
                Fold(info, fold, streams, changes, overlays);
                continue;
            }
            // Any other aggregation loads the document it folds into: only a store can run it.
            if (info.Source is not Marten.Events.Projections.EventProjection)
                throw new ProjectionReplayException(info, new ReplayNotSupportedException("Load (an aggregation folds into its stored document)"));
            try
            {
                await inline.ApplyAsync(operations, streams, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Marten wraps what a projection throws (ApplyEventException); an unsupported operation is reported as itself.
                throw new ProjectionReplayException(info, Unsupported(e) ?? e);
            }
        }
        foreach (var (name, overlay) in overlays)
        {
            var folded = _folded.TryGetValue(name, out var f) ? f : _folded[name] = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var (key, doc) in overlay) folded[key] = doc;
        }
    }

    /// <summary>Folds a keyed aggregation's events in memory, from the documents folded so far (this replayer's, or the page's).</summary>
    private void Fold(ProjectionInfo info, IKeyedFold fold, List<StreamAction> streams, DocumentChanges changes,
        Dictionary<string, Dictionary<string, object?>> overlays)
    {
        if (!overlays.TryGetValue(info.Name, out var overlay)) overlays[info.Name] = overlay = new Dictionary<string, object?>(StringComparer.Ordinal);
        _folded.TryGetValue(info.Name, out var folded);
        try
        {
            foreach (var e in streams.SelectMany(s => s.Events))
            {
                if (fold.KeyOf(e) is not { } key) continue;
                var current = overlay.TryGetValue(key, out var pending) ? pending : folded?.GetValueOrDefault(key);
                var next = fold.Fold(current, key, e);
                overlay[key] = next;
                if (next is null) changes.Delete(fold.DocumentType, key);
                else changes.Upsert(fold.DocumentType, next);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new ProjectionReplayException(info, e);
        }
    }

    private static ReplayNotSupportedException? Unsupported(Exception? e) => e switch
    {
        null => null,
        ReplayNotSupportedException unsupported => unsupported,
        _ => Unsupported(e.InnerException),
    };

    /// <summary>The events a projection handles, grouped by stream in first-seen order (each stream's events keep their order).</summary>
    private static List<StreamAction> StreamsOf(IReadOnlyList<IEvent> events, Type[] types)
    {
        var byStream = new Dictionary<string, List<IEvent>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var e in events)
        {
            if (types.Length > 0 && !Handles(types, e.EventType)) continue;
            var key = e.StreamKey ?? e.StreamId.ToString();
            if (!byStream.TryGetValue(key, out var list))
            {
                byStream[key] = list = [];
                order.Add(key);
            }
            list.Add(e);
        }
        return order.Select(k => StreamAction.For(k, byStream[k])).ToList();
    }

    private static bool Handles(Type[] types, Type eventType)
    {
        foreach (var t in types)
            if (t.IsAssignableFrom(eventType)) return true;
        return false;
    }
}
