using Marten;
using Npgsql;
using NpgsqlTypes;

namespace Matrix.Rooms.Tooling.Replay;

/// <summary>
/// Writes <see cref="DocumentChanges"/> inside the caller's transaction. For a document table with Marten's plain shape
/// (<c>id, data, mt_last_modified, mt_version, mt_dotnet_type</c>) the documents go through binary COPY into a temporary
/// staging table and one <c>INSERT … ON CONFLICT (id) DO UPDATE</c>, which is what makes a rebuild or an import run at
/// bulk speed; any other shape (duplicated fields, soft deletes, tenancy columns) falls back to a Marten session
/// enlisted in the same transaction, which is slower but writes exactly what Marten would.
/// <para>
/// With <c>tables</c> (a rebuild's staging tables, see <c>RebuildStaging</c>) it writes only there: a type without a
/// table of its own there, or whose table does not have the plain shape, is refused rather than written to the
/// serving table.
/// </para>
/// </summary>
public sealed class DocumentWriter(IDocumentStore store, IReadOnlyDictionary<Type, string>? tables = null)
{
    private static readonly HashSet<string> PlainColumns = ["id", "data", "mt_last_modified", "mt_version", "mt_dotnet_type"];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Type, TableShape> _shapes = new();

    /// <summary>Types whose documents were found to exist already: written by upsert from now on, not by a plain COPY.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Type, bool> _updated = new();
    private readonly ISerializer _serializer = store.Options.Serializer();

    private sealed record TableShape(string Table, string Stage, NpgsqlDbType IdType, string IdSqlType, bool Plain);

    /// <summary>The table this writer writes a type's documents to (schema-qualified).</summary>
    public string TableFor(Type type)
    {
        if (tables is null) return store.Options.FindOrResolveDocumentType(type).TableName.QualifiedName;
        return tables.TryGetValue(type, out var table)
            ? table
            : throw new InvalidOperationException(
                $"A projection wrote {type.Name} documents, which no projection being rebuilt declares (Marten's published types); " +
                "declare the type on its projection. Nothing was switched: the read models are as they were");
    }

    /// <summary>Writes every change; returns the number of documents written or deleted.</summary>
    public async Task<int> WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DocumentChanges changes, CancellationToken ct)
    {
        var written = 0;
        foreach (var type in changes.Types.ToList())
        {
            var docs = changes.For(type);
            if (docs.Count == 0) continue;
            var shape = await ShapeAsync(connection, transaction, type, ct);
            var upserts = docs.Where(d => d.Value is not null).Select(d => (d.Key, d.Value!)).ToList();
            var deletes = docs.Where(d => d.Value is null).Select(d => d.Key).ToList();

            if (upserts.Count > 0)
            {
                if (!shape.Plain && tables is not null)
                    throw new InvalidOperationException(
                        $"{shape.Table} has columns beyond Marten's plain document shape (duplicated fields, soft deletes, tenancy): " +
                        $"the rebuild cannot build {type.Name} beside its serving table; rebuild its projection with 'projections rebuild'");
                if (!shape.Plain) await SessionStoreAsync(transaction, upserts.Select(u => u.Item2), ct);
                else if (_updated.ContainsKey(type) || !await TryCopyNewAsync(connection, transaction, type, shape, upserts, ct))
                    await CopyUpsertAsync(connection, transaction, type, shape, upserts, ct);
            }
            if (deletes.Count > 0)
            {
                await using var delete = new NpgsqlCommand($"delete from {shape.Table} where id = any(@ids)", connection, transaction);
                var ids = Array.CreateInstance(deletes[0].GetType(), deletes.Count);
                for (var i = 0; i < deletes.Count; i++) ids.SetValue(deletes[i], i);
                delete.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | shape.IdType) { Value = ids });
                await delete.ExecuteNonQueryAsync(ct);
            }
            written += docs.Count;
        }
        return written;
    }

    /// <summary>
    /// Most documents a rebuild or an import writes are new (one per event, or a table that was just emptied): they go
    /// straight into the table by COPY. Under a savepoint, so that when one already exists the COPY is undone and the type
    /// is written by upsert from then on.
    /// </summary>
    private async Task<bool> TryCopyNewAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Type type, TableShape shape,
        List<(object Id, object Doc)> documents, CancellationToken ct)
    {
        await transaction.SaveAsync("mr_copy_new", ct);
        try
        {
            await CopyAsync(connection, $"copy {shape.Table} (id, data, mt_dotnet_type) from stdin (format binary)", type, shape, documents, ct);
            await transaction.ReleaseAsync("mr_copy_new", ct);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await transaction.RollbackAsync("mr_copy_new", ct);
            _updated[type] = true;
            return false;
        }
    }

    private Task CopyAsync(NpgsqlConnection connection, string copySql, Type type, TableShape shape, List<(object Id, object Doc)> documents,
        CancellationToken ct)
    {
        var dotnetType = type.FullName;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        // Synchronous row writes (callers run this off the request path): three awaits per row cost more than they save.
        using var copy = connection.BeginBinaryImport(copySql);
        foreach (var (id, doc) in documents)
        {
            ct.ThrowIfCancellationRequested();
            buffer.ResetWrittenCount();
            _serializer.WriteTo(buffer, doc);
            copy.StartRow();
            copy.Write(id, shape.IdType);
            copy.Write(buffer.WrittenSpan.ToArray(), NpgsqlDbType.Jsonb);
            copy.Write(dotnetType, NpgsqlDbType.Varchar);
        }
        copy.Complete();
        return Task.CompletedTask;
    }

    private async Task CopyUpsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Type type, TableShape shape,
        List<(object Id, object Doc)> upserts, CancellationToken ct)
    {
        await EnsureStageAsync(connection, transaction, shape, ct);
        await CopyAsync(connection, $"copy {shape.Stage} (id, data, mt_dotnet_type) from stdin (format binary)", type, shape, upserts, ct);
        await using var upsert = new NpgsqlCommand(
            $"insert into {shape.Table} (id, data, mt_dotnet_type) select id, data, mt_dotnet_type from {shape.Stage} " +
            "on conflict (id) do update set data = excluded.data, mt_dotnet_type = excluded.mt_dotnet_type, " +
            "mt_last_modified = excluded.mt_last_modified, mt_version = excluded.mt_version; " +
            $"truncate {shape.Stage};", connection, transaction);
        await upsert.ExecuteNonQueryAsync(ct);
    }

    private async Task SessionStoreAsync(NpgsqlTransaction transaction, IEnumerable<object> documents, CancellationToken ct)
    {
        await using var session = store.LightweightSession(Marten.Services.SessionOptions.ForTransaction(transaction));
        session.StoreObjects(documents);
        await session.SaveChangesAsync(ct);
    }

    private async Task<TableShape> ShapeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Type type, CancellationToken ct)
    {
        if (_shapes.TryGetValue(type, out var known)) return known;
        if (tables is null) await store.Storage.Database.EnsureStorageExistsAsync(type, ct);
        var name = Weasel.Postgresql.PostgresqlProvider.Instance.Parse(TableFor(type));
        var columns = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var cmd = new NpgsqlCommand(
                         "select column_name, data_type from information_schema.columns where table_schema = @schema and table_name = @table",
                         connection, transaction))
        {
            cmd.Parameters.AddWithValue("schema", name.Schema);
            cmd.Parameters.AddWithValue("table", name.Name);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) columns[reader.GetString(0)] = reader.GetString(1);
        }
        if (!columns.TryGetValue("id", out var idSqlType))
            throw new InvalidOperationException($"Table {name.QualifiedName} for {type.Name} has no id column");
        var idType = idSqlType switch
        {
            "uuid" => NpgsqlDbType.Uuid,
            "bigint" => NpgsqlDbType.Bigint,
            "integer" => NpgsqlDbType.Integer,
            _ => NpgsqlDbType.Varchar,
        };
        var plain = columns.Keys.All(PlainColumns.Contains);
        var shape = new TableShape(name.QualifiedName, $"mr_stage_{name.Name}", idType, idSqlType == "character varying" ? "varchar" : idSqlType, plain);
        _shapes[type] = shape;
        return shape;
    }

    /// <summary>The staging table lives as long as the connection; a pooled connection may already have it.</summary>
    private static async Task EnsureStageAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TableShape shape, CancellationToken ct)
    {
        if (!shape.Plain) return;
        await using var cmd = new NpgsqlCommand(
            $"create temporary table if not exists {shape.Stage} (id {shape.IdSqlType}, data jsonb, mt_dotnet_type varchar)",
            connection, transaction);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
