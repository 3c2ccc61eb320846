using System.Text;
using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;
using Npgsql;

namespace Matrix.Rooms.Tooling.Transfer;

public interface ITransferObserver
{
    void Started(long totalEvents, int rooms);
    /// <summary>Called as work is done, with the number of events just handled.</summary>
    void Advance(long events);
    void Note(string message);
}

public sealed record ExportResult(int Rooms, long Events, TimeSpan Elapsed);

/// <summary>
/// Writes rooms' events as JSON Lines, each room's events together and in timeline order, rooms one after another. An
/// event appended as a PDU is written as stored: the PDU (<c>auth_events</c>, <c>prev_events</c>, <c>depth</c>,
/// <c>hashes</c>, <c>signatures</c>) with the engine's <c>event_id</c> and <c>room_id</c>, so a federating server (or
/// <c>verify</c>, or an import) can check its hash and signature. Events without PDU fields (stored before
/// events were PDUs) are written in the client-server API's event format (<c>event_id</c>, <c>room_id</c>,
/// <c>sender</c>, <c>type</c>, <c>state_key</c>, <c>origin_server_ts</c>, <c>content</c>, <c>redacts</c>,
/// <c>unsigned</c>); import puts them in line again. <c>unsigned</c> keeps the engine's guest marker so guests are still
/// guests after an import.
/// </summary>
public sealed class EventExporter(IDocumentStore store)
{
    public const int PageSize = 5_000;

    /// <summary>The rooms to export: the given ones (each must exist), or every room in creation order.</summary>
    public async Task<IReadOnlyList<(string RoomId, long Events)>> ResolveRoomsAsync(IReadOnlyList<string> roomIds, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        if (roomIds.Count == 0)
        {
            var schema = ((StoreOptions)store.Options).Events.DatabaseSchemaName;
            var all = new List<(string, long)>();
            await using var connection = store.Storage.Database.CreateConnection();
            await connection.OpenAsync(ct);
            // In the order of each room's first event as stored (its creation; for imported and bulk-seeded rooms their
            // create event's origin_server_ts): the same order in the source and in an import of it, however the import
            // or a parallel seed happened to commit the rooms. A read: Marten has no API that lists streams.
            await using var cmd = new NpgsqlCommand(
                $"select s.id, coalesce(s.version, 0) from {schema}.mt_streams s " +
                $"left join {schema}.mt_events e on e.stream_id = s.id and e.version = 1 order by e.timestamp, s.id", connection);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) all.Add((reader.GetString(0), reader.GetInt64(1)));
            return all;
        }
        var rooms = new List<(string, long)>();
        foreach (var roomId in roomIds)
        {
            if (!RoomId.IsValid(roomId)) throw new ArgumentException($"Not a valid room ID: {roomId}");
            var stream = await session.Events.FetchStreamStateAsync(roomId, ct) ?? throw new ArgumentException($"Unknown room {roomId}");
            rooms.Add((roomId, stream.Version));
        }
        return rooms;
    }

    public async Task<ExportResult> ExportAsync(IReadOnlyList<(string RoomId, long Events)> rooms, Stream output, ITransferObserver observer,
        CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        observer.Started(rooms.Sum(r => r.Events), rooms.Count);
        await using var writer = new StreamWriter(output, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        long done = 0;
        foreach (var (roomId, count) in rooms)
        {
            for (long from = 1; from <= count; from += PageSize)
            {
                await using var session = store.QuerySession();
                var events = await session.Events.FetchStreamAsync(roomId, version: Math.Min(count, from + PageSize - 1), fromVersion: from, token: ct);
                foreach (var e in events)
                {
                    if (e.Data is not MatrixEvent ev) continue;
                    await writer.WriteLineAsync(ToLine(ev).ToJsonString(MatrixJson.Options).AsMemory(), ct);
                }
                done += events.Count;
                observer.Advance(events.Count);
            }
        }
        await writer.FlushAsync(ct);
        return new ExportResult(rooms.Count, done, clock.Elapsed);
    }

    /// <summary>One exported line (see the class summary).</summary>
    public static JsonObject ToLine(MatrixEvent ev)
    {
        if (Domain.Crypto.PduVerification.IsPdu(ev)) return ev.ToJson();
        var json = new JsonObject
        {
            ["event_id"] = ev.EventId,
            ["room_id"] = ev.RoomId,
            ["sender"] = ev.Sender,
            ["type"] = ev.Type,
        };
        if (ev.StateKey is not null) json["state_key"] = ev.StateKey;
        json["origin_server_ts"] = ev.OriginServerTs.ToUnixTimeMilliseconds();
        json["content"] = ev.Content.DeepClone();
        if (ev.Redacts is not null) json["redacts"] = ev.Redacts;
        if (ev.Unsigned is { Count: > 0 } unsigned) json["unsigned"] = unsigned.DeepClone();
        return json;
    }
}
