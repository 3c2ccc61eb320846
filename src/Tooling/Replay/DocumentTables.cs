using Marten;

namespace Matrix.Rooms.Tooling.Replay;

/// <summary>
/// Where a document type's rows are, for the reads that check a rebuild (<c>RebuildVerifier</c>) and for what
/// <c>rebuild</c> prints: Marten's own mapping of the type, or with <c>tables</c> (a rebuild's staging tables, see
/// <c>RebuildStaging</c>) only there — a type without a table of its own there is refused rather than read from the
/// serving table. Nothing writes through this: documents are written by <see cref="StoreDocumentWriter"/>.
/// </summary>
public sealed class DocumentTables(IDocumentStore store, IReadOnlyDictionary<Type, string>? tables = null)
{
    /// <summary>The table holding a type's documents (schema-qualified).</summary>
    public string TableFor(Type type)
    {
        if (tables is null) return store.Options.FindOrResolveDocumentType(type).TableName.QualifiedName;
        return tables.TryGetValue(type, out var table)
            ? table
            : throw new InvalidOperationException(
                $"A projection wrote {type.Name} documents, which no projection being rebuilt declares (Marten's published types); " +
                "declare the type on its projection. Nothing was switched: the read models are as they were");
    }
}
