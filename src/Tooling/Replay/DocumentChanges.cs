using System.Collections;
using System.Linq.Expressions;
using System.Reflection;
using Marten;

namespace Matrix.Rooms.Tooling.Replay;

/// <summary>
/// The document writes a batch of projected events produced, coalesced: for each (document type, id) only the last
/// write counts — the document stored last, or a deletion. A rebuild page that moves one room's head forward a
/// thousand times writes it once.
/// </summary>
public sealed class DocumentChanges
{
    private readonly DocumentIdentities _identities;
    private readonly Dictionary<Type, Dictionary<object, object?>> _byType = new();

    public DocumentChanges(DocumentIdentities identities) => _identities = identities;

    /// <summary>Number of distinct documents written or deleted.</summary>
    public int Count { get; private set; }

    public IEnumerable<Type> Types => _byType.Keys;

    /// <summary>The final state per id for one type: the document, or null when it was deleted.</summary>
    public IReadOnlyDictionary<object, object?> For(Type type) =>
        _byType.TryGetValue(type, out var docs) ? docs : new Dictionary<object, object?>();

    public void Upsert(Type type, object document) => Set(type, _identities.IdOf(type, document), document);

    public void Delete(Type type, object id) => Set(type, id, null);

    public void DeleteDocument(Type type, object document) => Set(type, _identities.IdOf(type, document), null);

    public void Clear()
    {
        _byType.Clear();
        Count = 0;
    }

    private void Set(Type type, object id, object? document)
    {
        if (!_byType.TryGetValue(type, out var docs)) _byType[type] = docs = new Dictionary<object, object?>();
        if (!docs.ContainsKey(id)) Count++;
        docs[id] = document;
    }
}

/// <summary>Reads a document's id the way Marten maps it (its <c>Id</c> member or the configured identity), cached per type.</summary>
public sealed class DocumentIdentities(IDocumentStore store)
{
    private readonly Dictionary<Type, Func<object, object>> _getters = new();
    private readonly Lock _lock = new();

    public object IdOf(Type type, object document)
    {
        Func<object, object>? getter;
        lock (_lock)
        {
            if (!_getters.TryGetValue(type, out getter))
                _getters[type] = getter = Compile(type, store.Options.FindOrResolveDocumentType(type).IdMember);
        }
        return getter(document) ?? throw new InvalidOperationException($"A {type.Name} document was stored without an id");
    }

    private static Func<object, object> Compile(Type type, MemberInfo idMember)
    {
        var doc = Expression.Parameter(typeof(object), "doc");
        var member = Expression.MakeMemberAccess(Expression.Convert(doc, idMember.DeclaringType ?? type), idMember);
        return Expression.Lambda<Func<object, object>>(Expression.Convert(member, typeof(object)), doc).Compile();
    }
}

/// <summary>A projection asked the replay for something it cannot do (reading documents, patching, raw SQL, …).</summary>
public sealed class ReplayNotSupportedException(string operation)
    : NotSupportedException($"The projection used IDocumentOperations.{operation}, which the bulk replay does not support " +
                            "(it records document stores and deletes only)")
{
    public string Operation { get; } = operation;
}

/// <summary>
/// An <see cref="IDocumentOperations"/> that records the writes an event projection makes into a
/// <see cref="DocumentChanges"/> instead of sending them to the database: Store/Insert/Update (and their
/// <c>…Objects</c> forms) become upserts, Delete/HardDelete become deletions. Anything else — loads, queries, patches,
/// raw SQL — throws <see cref="ReplayNotSupportedException"/>, so a projection that needs them is rebuilt by the
/// Marten daemon instead. Created with <see cref="Create"/>.
/// </summary>
public class DocumentRecorder : DispatchProxy
{
    private DocumentChanges _changes = null!;

    public static IDocumentOperations Create(DocumentChanges changes)
    {
        var proxy = Create<IDocumentOperations, DocumentRecorder>();
        ((DocumentRecorder)(object)proxy)._changes = changes;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(method);
        args ??= [];
        var documentType = method.IsGenericMethod ? method.GetGenericArguments()[0] : null;
        switch (method.Name)
        {
            case "Store" or "Insert" or "Update" when documentType is not null && args.Length == 1:
                foreach (var doc in Documents(args[0])) _changes.Upsert(documentType, doc);
                return null;
            case "StoreObjects" or "InsertObjects" when args.Length == 1:
                foreach (var doc in Documents(args[0])) _changes.Upsert(doc.GetType(), doc);
                return null;
            case "Delete" or "HardDelete" when documentType is not null && args.Length == 1 && args[0] is { } target:
                if (documentType.IsInstanceOfType(target) && target is not (string or Guid or int or long))
                    _changes.DeleteDocument(documentType, target);
                else
                    _changes.Delete(documentType, target);
                return null;
            case "DeleteObjects" when args.Length == 1:
                foreach (var doc in Documents(args[0])) _changes.DeleteDocument(doc.GetType(), doc);
                return null;
            case "get_TenantId":
                return "*DEFAULT*";
            case "Dispose":
                return null;
            case "DisposeAsync":
                return ValueTask.CompletedTask;
            default:
                throw new ReplayNotSupportedException(method.Name);
        }
    }

    private static IEnumerable<object> Documents(object? arg) => arg switch
    {
        null => [],
        IEnumerable many => many.Cast<object>(),
        _ => [arg],
    };
}
