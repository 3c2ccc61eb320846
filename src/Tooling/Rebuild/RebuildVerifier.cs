using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Projections.TimeTravel;
using Matrix.Rooms.Tooling.Replay;
using Npgsql;
using NpgsqlTypes;

namespace Matrix.Rooms.Tooling.Rebuild;

/// <summary>One difference between a stored document and what live aggregation says it should be.</summary>
public sealed record VerificationMismatch(string RoomId, string Check, string DocumentId, string Problem)
{
    public override string ToString() => $"{RoomId} [{Check}] {DocumentId}: {Problem}";
}

public sealed record VerificationReport(int RoomsChecked, int DocumentsChecked, IReadOnlyList<VerificationMismatch> Mismatches)
{
    public bool Passed => Mismatches.Count == 0;
}

/// <summary>
/// Checks, for a sample of rooms, that the stored read models equal what live aggregation of the room's stream gives:
/// <list type="number">
/// <item>every checked projection, replayed in memory over the room's events (read with <c>FetchStreamAsync</c>), writes
/// exactly the documents that are stored — same ids, same JSON — and, for document types with a <c>RoomId</c>, the
/// store holds no other document for the room;</item>
/// <item>independently of the projection code, the room's <see cref="RoomSnapshot"/> (Marten live aggregation) agrees
/// with <see cref="RoomStateEntry"/>, <see cref="RoomMember"/> and <see cref="RoomHead"/>: the same state keys set by
/// the same events at the same versions, the same memberships, the same head.</item>
/// </list>
/// Only rooms are checked: a stream without an <c>m.room.create</c> event (Marten's <c>mt_tombstone</c> stream, which
/// failed appends leave behind) is not a room and has no read model.
/// With <c>tables</c> (a rebuild's staging tables) the documents are read from there instead of the serving tables, so
/// a rebuild is checked before it is switched in.
/// </summary>
public sealed class RebuildVerifier(IDocumentStore store, IReadOnlyDictionary<Type, string>? tables = null)
{
    private readonly DocumentIdentities _identities = new(store);
    private readonly DocumentTables _tables = new(store, tables);
    private readonly ISerializer _serializer = store.Options.Serializer();

    /// <summary>A deterministic spread of rooms (streams that begin with <c>m.room.create</c>): ordered by a hash of the ID, so reruns check the same ones.</summary>
    public async Task<IReadOnlyList<string>> SampleRoomsAsync(int count, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var schema = ((StoreOptions)store.Options).Events.DatabaseSchemaName;
        var rooms = await session.AdvancedSql.QueryAsync<string>(
            $"select s.id from {schema}.mt_streams s where exists (select 1 from {schema}.mt_events e " +
            "where e.stream_id = s.id and e.version = 1 and e.type = ?) " +
            $"order by md5(s.id) limit {Math.Max(0, count)}", ct, CreateEventTypeName);
        return rooms.ToList();
    }

    private string CreateEventTypeName => ((Marten.Events.EventGraph)((StoreOptions)store.Options).Events).EventMappingFor(typeof(CreateEvent)).EventTypeName;

    /// <summary>
    /// Checks each room's documents against its stream, up to the version in <paramref name="upTo"/> when the room is
    /// there (what a rebuild applied), else up to the end.
    /// </summary>
    public async Task<VerificationReport> VerifyAsync(IReadOnlyList<ProjectionInfo> projections, IReadOnlyList<string> roomIds, CancellationToken ct,
        IReadOnlyDictionary<string, long>? upTo = null)
    {
        var mismatches = new List<VerificationMismatch>();
        int documents = 0, rooms = 0;
        var replayer = new ProjectionReplayer(projections);
        var names = projections.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        await using var session = store.QuerySession();
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);

        foreach (var roomId in roomIds)
        {
            var version = upTo is not null && upTo.TryGetValue(roomId, out var applied) ? applied : 0;
            var events = await session.Events.FetchStreamAsync(roomId, version, token: ct);
            if (events.Count == 0 || events[0].Data is not CreateEvent) continue; // not a room
            rooms++;
            var expected = new DocumentChanges(_identities);
            await replayer.ApplyAsync(events, expected, ct);
            foreach (var type in expected.Types)
                documents += await CompareAsync(connection, roomId, type, expected.For(type), mismatches, ct);

            var snapshot = await session.Events.AggregateStreamAsync<RoomSnapshot>(roomId, version, token: ct);
            if (snapshot is null)
            {
                mismatches.Add(new VerificationMismatch(roomId, "live", roomId, "live aggregation found no events"));
                continue;
            }
            documents += await CheckAgainstSnapshotAsync(connection, snapshot, names, mismatches, ct);
        }
        return new VerificationReport(rooms, documents, mismatches);
    }

    private async Task<int> CompareAsync(NpgsqlConnection connection, string roomId, Type type, IReadOnlyDictionary<object, object?> expected,
        List<VerificationMismatch> mismatches, CancellationToken ct)
    {
        var table = _tables.TableFor(type);
        var ids = expected.Keys.ToArray();
        var stored = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        await using (var cmd = new NpgsqlCommand($"select id::text, data::text from {table} where id::text = any(@ids)", connection))
        {
            cmd.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = ids.Select(i => i.ToString()!).ToArray() });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) stored[reader.GetString(0)] = JsonNode.Parse(reader.GetString(1));
        }

        foreach (var (id, doc) in expected)
        {
            var key = id.ToString()!;
            stored.TryGetValue(key, out var actual);
            if (doc is null)
            {
                if (actual is not null) mismatches.Add(new(roomId, type.Name, key, "stored, but replaying the stream deletes it"));
                continue;
            }
            var want = JsonNode.Parse(_serializer.ToJson(doc));
            if (actual is null) mismatches.Add(new(roomId, type.Name, key, "missing: replaying the stream writes it"));
            else if (!JsonNode.DeepEquals(want, actual))
                mismatches.Add(new(roomId, type.Name, key, $"differs: stored {Shorten(actual)}, replay gives {Shorten(want)}"));
        }

        if (RoomIdJsonName(type) is { } roomField)
        {
            await using var extra = new NpgsqlCommand($"select id::text from {table} where data ->> '{roomField}' = @room", connection);
            extra.Parameters.AddWithValue("room", roomId);
            await using var reader = await extra.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var id = reader.GetString(0);
                if (!expected.Keys.Any(k => k.ToString() == id))
                    mismatches.Add(new(roomId, type.Name, id, "stored, but no event of the room produces it"));
            }
        }
        return expected.Count;
    }

    /// <summary>The room's documents of one type, read from the table being checked (the serving one or a rebuild's staging one).</summary>
    private async Task<List<T>> RoomDocumentsAsync<T>(NpgsqlConnection connection, string roomId, CancellationToken ct)
    {
        var documents = new List<T>();
        var where = typeof(T) == typeof(RoomHead) ? "id = @room" : $"data ->> '{RoomIdJsonName(typeof(T))}' = @room";
        await using var cmd = new NpgsqlCommand($"select data from {_tables.TableFor(typeof(T))} where {where}", connection);
        cmd.Parameters.AddWithValue("room", roomId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) documents.Add(_serializer.FromJson<T>(reader, 0));
        return documents;
    }

    private async Task<int> CheckAgainstSnapshotAsync(NpgsqlConnection connection, RoomSnapshot snapshot, HashSet<string> projections,
        List<VerificationMismatch> mismatches, CancellationToken ct)
    {
        var roomId = snapshot.Id;
        var checkedDocs = 0;
        if (projections.Contains("room_state"))
        {
            var entries = await RoomDocumentsAsync<RoomStateEntry>(connection, roomId, ct);
            var byId = entries.ToDictionary(e => e.Id, StringComparer.Ordinal);
            foreach (var (key, (ev, version)) in snapshot.State)
            {
                var id = RoomStateEntry.IdFor(roomId, key);
                if (!byId.Remove(id, out var entry))
                    mismatches.Add(new(roomId, "live:room_state", id, $"live aggregation has {ev.EventId} at version {version}; no document"));
                else if (entry.Event.EventId != ev.EventId || entry.StreamVersion != version)
                    mismatches.Add(new(roomId, "live:room_state", id,
                        $"live aggregation has {ev.EventId} at version {version}; stored {entry.Event.EventId} at version {entry.StreamVersion}"));
            }
            foreach (var extra in byId.Keys)
                mismatches.Add(new(roomId, "live:room_state", extra, "stored, but not part of the room's state by live aggregation"));
            checkedDocs += entries.Count;
        }

        if (projections.Contains("room_members"))
        {
            var members = await RoomDocumentsAsync<RoomMember>(connection, roomId, ct);
            var byUser = members.ToDictionary(m => m.UserId, StringComparer.Ordinal);
            foreach (var (key, (ev, version)) in snapshot.State.Where(s => s.Key.Type == EventTypes.Member))
            {
                var membership = (ev as MemberEvent)?.Membership ?? "";
                if (!byUser.Remove(key.Key, out var member))
                    mismatches.Add(new(roomId, "live:room_members", key.Key, $"live aggregation: {membership} at version {version}; no document"));
                else if (member.Membership != membership || member.StreamVersion != version || member.EventId != ev.EventId)
                    mismatches.Add(new(roomId, "live:room_members", key.Key,
                        $"live aggregation: {membership} at version {version}; stored {member.Membership} at version {member.StreamVersion}"));
            }
            foreach (var extra in byUser.Keys)
                mismatches.Add(new(roomId, "live:room_members", extra, "stored, but the user has no member event by live aggregation"));
            checkedDocs += members.Count;
        }

        if (projections.Contains("room_heads"))
        {
            var head = (await RoomDocumentsAsync<RoomHead>(connection, roomId, ct)).SingleOrDefault();
            if (head is null || head.StreamVersion != snapshot.Version || head.LastEventId != snapshot.LastEventId)
                mismatches.Add(new(roomId, "live:room_heads", roomId,
                    $"live aggregation: {snapshot.LastEventId} at version {snapshot.Version}; stored " +
                    (head is null ? "nothing" : $"{head.LastEventId} at version {head.StreamVersion}")));
            checkedDocs++;
        }
        return checkedDocs;
    }

    /// <summary>The JSON name of a document's <c>RoomId</c> member (camelCase unless renamed), or null when it has none.</summary>
    private static string? RoomIdJsonName(Type type)
    {
        var property = type.GetProperty("RoomId", BindingFlags.Public | BindingFlags.Instance);
        if (property is null || property.PropertyType != typeof(string)) return null;
        return property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);
    }

    private static string Shorten(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "null";
        return text.Length <= 240 ? text : text[..240] + "…";
    }
}
