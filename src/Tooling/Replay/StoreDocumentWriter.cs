using Marten;
using Weasel.Core;

namespace Matrix.Rooms.Tooling.Replay;

/// <summary>
/// Writes <see cref="DocumentChanges"/> through Marten's public API only: the documents by
/// <c>IDocumentStore.BulkInsertDocumentsAsync</c> (Marten's binary COPY, <see cref="BulkInsertMode.OverwriteExisting"/>:
/// a rebuild writes a room's state rows again as its events go by), deletions through a session. The store decides
/// the tables: a rebuild passes its staging store (another schema), so nothing here names a table.
/// </summary>
public sealed class StoreDocumentWriter(IDocumentStore target, int batchSize = 5_000)
{
    public IDocumentStore Target => target;

    /// <summary>Writes every change; returns the number of documents written or deleted.</summary>
    public async Task<int> WriteAsync(DocumentChanges changes, CancellationToken ct)
    {
        var upserts = new List<object>();
        var deletes = new List<(Type Type, object Id)>();
        foreach (var type in changes.Types)
            foreach (var (id, doc) in changes.For(type))
                if (doc is null) deletes.Add((type, id));
                else upserts.Add(doc);
        if (upserts.Count > 0)
            await target.BulkInsertDocumentsAsync(upserts, BulkInsertMode.OverwriteExisting, batchSize, ct);
        if (deletes.Count > 0)
        {
            await using var session = target.LightweightSession();
            foreach (var (type, id) in deletes) Deletion.For(type)(session, id);
            await session.SaveChangesAsync(ct);
        }
        return upserts.Count + deletes.Count;
    }

    /// <summary><c>IDocumentOperations.Delete&lt;T&gt;(id)</c> for a type known at run time (no projection of the engine deletes today).</summary>
    private static class Deletion
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, Action<IDocumentSession, object>> Deleters = new();

        public static Action<IDocumentSession, object> For(Type type) => Deleters.GetOrAdd(type, t =>
            (Action<IDocumentSession, object>)typeof(Deletion).GetMethod(nameof(Delete), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(t).CreateDelegate(typeof(Action<IDocumentSession, object>)));

        private static void Delete<T>(IDocumentSession session, object id) where T : notnull
        {
            switch (id)
            {
                case string s: session.Delete<T>(s); break;
                case Guid g: session.Delete<T>(g); break;
                case long l: session.Delete<T>(l); break;
                case int i: session.Delete<T>(i); break;
                default: throw new NotSupportedException($"Cannot delete a {typeof(T).Name} by an id of type {id.GetType().Name}");
            }
        }
    }
}
