using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Marten;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Tooling.Replay;

namespace Matrix.Rooms.Tooling.Transfer;

/// <summary>A room that was not imported: the first bad line (1-based) and why.</summary>
public sealed record ImportFailure(string? RoomId, long Line, string Reason)
{
    public override string ToString() => $"line {Line}{(RoomId is null ? "" : $" ({RoomId})")}: {Reason}";
}

public sealed record ImportResult(int RoomsImported, long EventsImported, IReadOnlyList<ImportFailure> Failures, TimeSpan Elapsed)
{
    /// <summary>Imported PDUs signed by a server whose key the store does not hold: their hash and event ID were checked,
    /// their signature could not be ("unverified: no key").</summary>
    public long UnverifiedEvents { get; init; }

    public double EventsPerSecond => Elapsed.TotalSeconds > 0 ? EventsImported / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Imports JSON Lines written by <see cref="EventExporter"/> (or anything in the same shape) through the bulk path
/// (<see cref="BulkRoomWriter"/>: Marten's bulk event insert, one transaction per room, then the room's read models).
/// Each event is checked against the authorization rules with the room state before it (<see cref="EventAuth"/>),
/// exactly as if it were being appended; the first line that is malformed, breaks the timeline or is refused stops its
/// room, and the room's events are rolled back whole — other rooms in the file still import. A room that already exists
/// in the target is refused too. Events that carry PDU hashes (exported from a store that appends PDUs) keep their PDU
/// fields and are verified first (<see cref="PduVerification"/>): content hash, reference-hash event ID, and the
/// signatures of the servers whose keys the target store holds (this server's own); one that does not verify stops its
/// room like any refused line.
/// </summary>
public sealed class EventImporter(IDocumentStore store, ILogger<EventImporter> logger)
{
    private sealed record RoomGroup(string? RoomId, long FirstLine, long LastLine, long Events)
    {
        public string? Problem { get; init; }
        public long ProblemLine { get; init; }
    }

    /// <param name="deferProjections">Write the events only (Marten's bulk event insert alone); the read models are then built by a
    /// rebuild, and until then the imported rooms are in the event store but not visible to readers.</param>
    public async Task<ImportResult> ImportAsync(string path, ITransferObserver observer, CancellationToken ct, bool deferProjections = false)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No such file: {path}", path);
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var clock = Stopwatch.StartNew();
        var groups = await ScanAsync(path, ct);
        if (groups.Count == 0) throw new InvalidDataException($"{path} holds no events");
        observer.Started(groups.Sum(g => g.Events), groups.Count);

        var keys = await TrustedKeysAsync(ct);
        long unverified = 0;
        await using var writer = new BulkRoomWriter(store, deferProjections ? null : new ProjectionReplayer(ProjectionCatalog.All(store)));
        var failures = new List<ImportFailure>();
        var imported = 0;
        long events = 0;

        // Lines are read and parsed on a task of their own, ahead of the rules and the writes (which keep the file's order).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var lines = Channel.CreateBounded<ParsedLine>(new BoundedChannelOptions(4_096) { SingleReader = true, SingleWriter = true });
        var parsing = Task.Run(() => ParseFileAsync(path, keys, lines.Writer, stop.Token), stop.Token);
        long lineNumber = 0;
        try
        {
            foreach (var group in groups)
            {
                if (group.Problem is not null || group.RoomId is null)
                {
                    // A room split over the file is reported once, at the line where it comes back.
                    if (group.RoomId is null || failures.All(f => f.RoomId != group.RoomId))
                        failures.Add(new ImportFailure(group.RoomId, group.ProblemLine, group.Problem ?? "no room_id"));
                    await SkipToAsync(group.LastLine);
                    observer.Advance(group.Events);
                    continue;
                }

                var failure = await ImportRoomAsync(group);
                if (failure is null)
                {
                    imported++;
                    events += group.Events;
                    logger.LogInformation("Imported {Room}: {Events} events (lines {First}-{Last})", group.RoomId, group.Events, group.FirstLine, group.LastLine);
                }
                else
                {
                    failures.Add(failure);
                    logger.LogInformation("Did not import {Room}: {Failure}", group.RoomId, failure);
                }
                await SkipToAsync(group.LastLine);
                observer.Advance(group.Events);
            }
        }
        finally
        {
            await stop.CancelAsync();
            try { await parsing; } catch (OperationCanceledException) { }
        }
        return new ImportResult(imported, events, failures, clock.Elapsed) { UnverifiedEvents = unverified };

        async Task<ParsedLine?> NextAsync()
        {
            if (!await lines.Reader.WaitToReadAsync(ct)) return null;
            var line = await lines.Reader.ReadAsync(ct);
            lineNumber = line.Number;
            return line;
        }

        async Task SkipToAsync(long last)
        {
            while (lineNumber < last && await NextAsync() is not null) { }
        }

        async Task<ImportFailure?> ImportRoomAsync(RoomGroup group)
        {
            var roomId = group.RoomId!;
            BulkRoom room;
            try
            {
                room = await writer.BeginRoomAsync(roomId, group.Events, ct);
            }
            catch (RoomExistsException e)
            {
                return new ImportFailure(roomId, group.FirstLine, e.Message + "; nothing of it was imported");
            }

            await using (room)
            {
                var checker = new TimelineChecker();
                string? previous = null;
                var seen = new HashSet<string>(StringComparer.Ordinal);
                while (lineNumber < group.LastLine)
                {
                    if (await NextAsync() is not { } line) break;
                    if (line.Blank) continue;
                    if (line.Error is { } error) return new ImportFailure(roomId, lineNumber, error);
                    var ev = line.Event!;
                    if (ev.RoomId != roomId)
                        return new ImportFailure(roomId, lineNumber, $"room_id is {ev.RoomId}, but this part of the file is room {roomId}");
                    if (!seen.Add(ev.EventId))
                        return new ImportFailure(roomId, lineNumber, $"event {ev.EventId} appears twice in the room");

                    var version = checker.Version ?? (ev is CreateEvent create ? RoomVersion.Get(create.RoomVersion) : null);
                    if (version is not null && PduVerification.IsPdu(ev))
                    {
                        // Checked ahead, in parallel, with the version of the room's create event above it in the file: the same one.
                        var check = line.Check is { } ahead && line.CheckedWith == version ? ahead : PduVerification.Check(ev, version, keys);
                        if (check.Problem is { } problem)
                            return new ImportFailure(roomId, lineNumber, $"event {ev.EventId} does not verify: {problem}");
                        if (check.Unverified.Any()) unverified++;
                    }
                    // A PDU keeps the prev_events it was signed with; other events are put in line.
                    else if (version is not null) ev = ev.After(previous, version);
                    var decision = checker.Accept(ev);
                    if (!decision.Allowed)
                        return new ImportFailure(roomId, lineNumber,
                            $"{ev.Type} event {ev.EventId} from {ev.Sender} is refused by the authorization rules " +
                            $"with the room state before it ({decision.Rule}): {decision.Explanation}");

                    try
                    {
                        await room.AppendAsync(ev, ev.OriginServerTs.ToDateTimeOffset(), ct);
                    }
                    catch (RoomExistsException e)
                    {
                        return new ImportFailure(roomId, group.FirstLine, e.Message + "; nothing of it was imported");
                    }
                    previous = ev.EventId;
                }
                try
                {
                    await room.CommitAsync(ct);
                }
                catch (RoomExistsException e)
                {
                    // Created by someone else while this room was being read.
                    return new ImportFailure(roomId, group.FirstLine, e.Message + "; nothing of it was imported");
                }
                return null;
            }
        }
    }

    /// <summary>The signing keys the target store holds (this server's): the signatures import can check offline.</summary>
    private async Task<IReadOnlyCollection<ServerVerifyKey>> TrustedKeysAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var stored = await session.Query<ServerSigningKey>().ToListAsync(ct);
        return stored.Select(k =>
        {
            using var key = k.ToSigningKey();
            return new ServerVerifyKey(k.Id, k.KeyId, key.PublicKey);
        }).ToList();
    }

    /// <param name="Check">The PDU's verification, made ahead with <paramref name="CheckedWith"/> (the version of the room's
    /// create event above it in the file); the rules stage uses it when the room's version is that one.</param>
    private readonly record struct ParsedLine(long Number, bool Blank, MatrixEvent? Event, string? Error, RoomVersion? CheckedWith = null, PduCheck? Check = null);

    /// <summary>Lines parsed a block at a time: each block's lines parsed, then their PDUs verified, in parallel over the cores.</summary>
    internal const int ParseBlock = 1_024;

    /// <summary>
    /// Reads the file and hands its lines on in order, parsed and (PDUs) verified: the CPU-heavy part of an import —
    /// JSON, canonical JSON, hashes, signatures — runs in parallel, a block of lines at a time, ahead of the ordered
    /// authorization checks and writes. A line's verification uses the room version of the last create event of its room
    /// above it; the rules stage checks it again when the room turns out to have another (a file with a room split or
    /// missing its create event).
    /// </summary>
    private static async Task ParseFileAsync(string path, IReadOnlyCollection<ServerVerifyKey> keys, ChannelWriter<ParsedLine> output, CancellationToken ct)
    {
        try
        {
            using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16);
            long number = 0;
            var texts = new List<string>(ParseBlock);
            var parsed = new ParsedLine[ParseBlock];
            string? room = null;
            RoomVersion? version = null;
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct };
            while (true)
            {
                texts.Clear();
                string? text;
                while (texts.Count < ParseBlock && (text = await reader.ReadLineAsync(ct)) is not null) texts.Add(text);
                if (texts.Count == 0) break;
                var first = number + 1;
                number += texts.Count;
                Parallel.For(0, texts.Count, parallel, i =>
                {
                    var line = texts[i];
                    parsed[i] = string.IsNullOrWhiteSpace(line)
                        ? new ParsedLine(first + i, true, null, null)
                        : ParseLine(line) is var (ev, error) ? new ParsedLine(first + i, false, ev, error) : default;
                });
                var versions = new RoomVersion?[texts.Count];
                for (var i = 0; i < texts.Count; i++)
                {
                    if (parsed[i].Event is not { } ev) continue;
                    if (ev is CreateEvent create) (room, version) = (ev.RoomId, RoomVersion.Get(create.RoomVersion));
                    else if (ev.RoomId != room) (room, version) = (ev.RoomId, null);
                    versions[i] = version;
                }
                Parallel.For(0, texts.Count, parallel, i =>
                {
                    if (versions[i] is { } v && parsed[i].Event is { } ev && PduVerification.IsPdu(ev))
                        parsed[i] = parsed[i] with { CheckedWith = v, Check = PduVerification.Check(ev, v, keys) };
                });
                for (var i = 0; i < texts.Count; i++) await output.WriteAsync(parsed[i], ct);
            }
            output.Complete();
        }
        catch (Exception e)
        {
            output.Complete(e);
        }
    }

    /// <summary>One line as an event, or the reason it is not one.</summary>
    public static (MatrixEvent? Event, string? Error) ParseLine(string line)
    {
        var utf8 = Encoding.UTF8.GetBytes(line);
        // The line is an event: its content's depth is EventLimits' to check, as for every other event.
        if (JsonInputPolicy.Validate(utf8, JsonInputPolicy.ReadDepth) is { } refused) return (null, refused.Error);
        var (type, hasStateKey, error) = Shape(utf8);
        if (error is not null) return (null, error);
        MatrixEvent ev;
        try
        {
            ev = (MatrixEvent)(JsonSerializer.Deserialize(utf8, MatrixEvent.ClrTypeFor(type!, hasStateKey), MatrixJson.Options)
                               ?? throw new JsonException("the event is null"));
        }
        catch (JsonException e)
        {
            return (null, $"not a Matrix event: {e.Message}");
        }
        if (!Domain.Identifiers.EventId.IsValid(ev.EventId)) return (null, $"'{ev.EventId}' is not a valid event ID");
        if (!RoomId.IsValid(ev.RoomId)) return (null, $"'{ev.RoomId}' is not a valid room ID");
        if (!UserId.IsValid(ev.Sender)) return (null, $"'{ev.Sender}' is not a valid user ID");
        // A PDU's fields are kept (they are hashed and signed); others' federation fields are not imported: the timeline
        // is rebuilt as a line.
        if (!PduVerification.IsPdu(ev)) ev = ev with { PrevEvents = null, Extra = null };
        return EventLimits.Check(ev) is { } tooLarge ? (null, tooLarge.Error) : (ev, null);
    }

    /// <summary>
    /// Checks the top level of a line without building it: a JSON object whose <c>event_id</c>, <c>room_id</c>,
    /// <c>sender</c> and <c>type</c> are non-empty strings, <c>origin_server_ts</c> an integer, <c>content</c> an object,
    /// <c>state_key</c> (when present) a string and <c>unsigned</c> (when present) an object.
    /// </summary>
    private static (string? Type, bool HasStateKey, string? Error) Shape(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = JsonInputPolicy.ReadDepth });
        string? type = null;
        bool hasStateKey = false, content = false, ts = false;
        var strings = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return (null, false, "not a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                switch (name)
                {
                    case "event_id" or "room_id" or "sender" or "type":
                        if (reader.TokenType != JsonTokenType.String || reader.ValueSpan.Length == 0)
                            return (null, false, $"'{name}' must be a non-empty string");
                        if (name == "type") type = reader.GetString();
                        strings.Add(name);
                        break;
                    case "origin_server_ts":
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out _))
                            return (null, false, "'origin_server_ts' must be an integer (milliseconds since the Unix epoch)");
                        ts = true;
                        break;
                    case "content":
                        if (reader.TokenType != JsonTokenType.StartObject) return (null, false, "'content' must be an object");
                        content = true;
                        break;
                    case "state_key":
                        if (reader.TokenType != JsonTokenType.String) return (null, false, "'state_key' must be a string when present");
                        hasStateKey = true;
                        break;
                    case "unsigned":
                        if (reader.TokenType != JsonTokenType.StartObject) return (null, false, "'unsigned' must be an object when present");
                        break;
                }
                reader.Skip();
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return (null, false, "not JSON: text after the object");
        }
        catch (JsonException e)
        {
            return (null, false, $"not JSON: {e.Message}");
        }
        foreach (var field in (string[])["event_id", "room_id", "sender", "type"])
            if (!strings.Contains(field)) return (null, false, $"'{field}' must be a non-empty string");
        if (!ts) return (null, false, "'origin_server_ts' must be an integer (milliseconds since the Unix epoch)");
        if (!content) return (null, false, "'content' must be an object");
        return (type, hasStateKey, null);
    }

    /// <summary>
    /// First pass: which lines belong to which room (only <c>room_id</c> is read). A room must come as one run of
    /// consecutive lines; a room split over the file is refused whole before anything is written.
    /// </summary>
    private static async Task<List<RoomGroup>> ScanAsync(string path, CancellationToken ct)
    {
        var groups = new List<RoomGroup>();
        var firstGroupOf = new Dictionary<string, int>(StringComparer.Ordinal);
        using var reader = new StreamReader(path, Encoding.UTF8, true, 1 << 16);
        long lineNumber = 0;
        string? line;
        while ((line = await reader.ReadLineAsync(ct)) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var roomId = RoomIdOf(line);
            var current = groups.Count > 0 ? groups[^1] : null;
            if (roomId is null || roomId == current?.RoomId)
            {
                // Part of the current run (a line without a readable room_id is reported when its room is imported).
                if (current is null) groups.Add(new RoomGroup(null, lineNumber, lineNumber, 1) { Problem = "the line has no readable room_id", ProblemLine = lineNumber });
                else groups[^1] = current with { LastLine = lineNumber, Events = current.Events + 1 };
                continue;
            }
            if (firstGroupOf.TryGetValue(roomId, out var earlier))
            {
                var problem = $"the events of room {roomId} are not consecutive (lines {groups[earlier].FirstLine}–{groups[earlier].LastLine} " +
                              $"and again from line {lineNumber}); nothing of it was imported";
                groups[earlier] = groups[earlier] with { Problem = problem, ProblemLine = lineNumber };
                groups.Add(new RoomGroup(roomId, lineNumber, lineNumber, 1) { Problem = problem, ProblemLine = lineNumber });
                continue;
            }
            firstGroupOf[roomId] = groups.Count;
            groups.Add(new RoomGroup(roomId, lineNumber, lineNumber, 1));
        }
        // Later runs of a split room carry the problem too (so their lines are skipped, not imported).
        return groups.Select(g => g.RoomId is not null && g.Problem is null && firstGroupOf.TryGetValue(g.RoomId, out var i) && groups[i].Problem is { } p
            ? g with { Problem = p, ProblemLine = groups[i].ProblemLine } : g).ToList();
    }

    private static string? RoomIdOf(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = JsonInputPolicy.ReadDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject) return null;
                if (reader.TokenType != JsonTokenType.PropertyName) return null;
                var isRoom = reader.ValueTextEquals("room_id"u8);
                if (!reader.Read()) return null;
                if (isRoom) return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Reported with its reason when the room is imported.
        }
        return null;
    }
}
