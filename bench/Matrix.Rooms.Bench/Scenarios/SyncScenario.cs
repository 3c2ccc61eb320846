using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Bench.All;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Tooling.Seeding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Wolverine;

namespace Matrix.Rooms.Bench.Scenarios;

/// <summary>
/// <c>sync [rooms] [events] [wakeups]</c>: initial sync of a user in N rooms of M events each (p50/p95 over HTTP), the
/// long-poll wake-up latency from a send by another user to the answer (p50/p99), and an incremental sync's cost for
/// a user in 10 rooms vs one in 1,000 idle rooms (p50 ratio, brief target ≤ 1.5).
/// </summary>
public static class SyncScenario
{
    public static async Task RunAsync(int rooms, int events, int wakeups, int idleRooms = 1_000)
    {
        await using var host = await BenchHost.StartAsync();
        var bus = host.NewBus();
        using var reader = await ClientAsync(host);
        using var writer = await ClientAsync(host);
        var readerId = await UserIdAsync(reader);
        var writerId = await UserIdAsync(writer);

        var roomIds = new List<string>();
        if (rooms > 0) await InitialAndWakeUpAsync(host, bus, reader, writer, writerId, rooms, events, wakeups, roomIds);

        var small = await IncrementalAsync(host, bus, writer, writerId, 10);
        var large = await IncrementalAsync(host, bus, writer, writerId, idleRooms);
        Console.WriteLine($"incremental sync, one changed room: 10 rooms p50 {small:F2} ms, {idleRooms:N0} idle rooms p50 {large:F2} ms, ratio {large / small:F2}");
        BenchMetrics.Record($"sync_incremental_ratio_{idleRooms}rooms_vs_10", large / small, "x", Target.AtMost(1.5),
            $"incremental sync p50, one changed room among {idleRooms:N0} vs 10 ({large:F2} vs {small:F2} ms)");
        _ = readerId;
    }

    private static async Task InitialAndWakeUpAsync(BenchHost host, IMessageBus bus, HttpClient reader, HttpClient writer, string writerId,
        int rooms, int events, int wakeups, List<string> roomIds)
    {
        for (var r = 0; r < rooms; r++)
        {
            var roomId = (await PostJsonAsync(writer, "/_matrix/client/v3/createRoom", new JsonObject { ["preset"] = "public_chat" }))["room_id"]!.GetValue<string>();
            await PostJsonAsync(reader, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/join", new JsonObject());
            for (var i = 0; i < events; i++) await SendAsync(bus, roomId, writerId, $"message {i}");
            roomIds.Add(roomId);
        }

        var initial = new List<double>();
        for (var i = 0; i < 25; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            var body = JsonNode.Parse(await reader.GetStringAsync("/_matrix/client/v3/sync"))!;
            initial.Add(stopwatch.Elapsed.TotalMilliseconds);
            if (body["rooms"]!["join"]!.AsObject().Count != rooms) throw new InvalidOperationException("expected every room");
        }
        initial.RemoveRange(0, 5); // warm-up
        Console.WriteLine($"initial sync, {rooms} rooms x {events} events over HTTP: {Summary(initial, 0.95)}");
        BenchMetrics.Record($"sync_initial_ms_{rooms}rooms", initial[initial.Count / 2], "ms", note: $"p50 of 20, {rooms} rooms × {events} events, over HTTP");

        var since = JsonNode.Parse(await reader.GetStringAsync("/_matrix/client/v3/sync"))!["next_batch"]!.GetValue<string>();
        var wake = new List<double>();
        var commit = new List<double>(); // of which the send itself (decide, append, commit)
        for (var i = 0; i < wakeups; i++)
        {
            var poll = reader.GetStringAsync($"/_matrix/client/v3/sync?timeout=30000&since={Uri.EscapeDataString(since)}");
            await Task.Delay(30); // the poll is waiting
            var sent = Stopwatch.StartNew();
            await SendAsync(bus, roomIds[i % roomIds.Count], writerId, $"wake {i}");
            commit.Add(sent.Elapsed.TotalMilliseconds);
            var body = JsonNode.Parse(await poll)!;
            wake.Add(sent.Elapsed.TotalMilliseconds);
            since = body["next_batch"]!.GetValue<string>();
        }
        Console.WriteLine($"long-poll wake-up, send (append + commit) to answer, {wakeups} samples: {Summary(wake, 0.99)}");
        BenchMetrics.Record("sync_wakeup_p50_ms", wake[wake.Count / 2], "ms", Target.Below(20), $"send (append + commit) to the long poll's answer, {wakeups} samples");
        commit.Sort();
        BenchMetrics.Record("sync_wakeup_send_p50_ms", commit[commit.Count / 2], "ms", note: "of which the send itself returned (decide, append, commit); the rest is NOTIFY → LISTEN → the incremental answer over HTTP");
    }

    /// <summary>
    /// <c>sync-lazy [members]</c> (issue 10, item 5): an initial <c>/sync</c> with <c>lazy_load_members</c> of a user
    /// whose one room has <paramref name="bigRoomMembers"/> members, ÷ the same for a 10-member room (p50 ratio, target
    /// ≤ 1.5). Both rooms are seeded by the tooling's bulk seeding (<c>seed --bulk</c>'s path: events and read models
    /// written in bulk, no commands); the syncing user is then invited by the room's creator and joins over HTTP, so
    /// the timeline's last events are theirs.
    /// </summary>
    public static async Task LazyMembersAsync(int bigRoomMembers)
    {
        await using var host = await BenchHost.StartAsync();
        var bus = host.NewBus();
        var small = await SeededRoomMemberAsync(host, bus, 10, seed: 10);
        var stopwatch = Stopwatch.StartNew();
        var large = await SeededRoomMemberAsync(host, bus, bigRoomMembers, seed: 11);
        Console.WriteLine($"seeded and joined a {bigRoomMembers:N0}-member room in {stopwatch.Elapsed.TotalSeconds:F1} s");
        // A steady state, as autovacuum leaves it some time after a bulk load: statistics and visibility map of the
        // tables the bulk seeding just filled (PostgreSQL's advice after a bulk load). The measurement starts after.
        await using (var connection = new Npgsql.NpgsqlConnection(host.ConnectionString))
        {
            await connection.OpenAsync();
            await using var vacuum = new Npgsql.NpgsqlCommand("VACUUM ANALYZE", connection) { CommandTimeout = 600 };
            await vacuum.ExecuteNonQueryAsync();
        }

        const string filter = """{"room":{"state":{"lazy_load_members":true},"timeline":{"limit":20}}}""";
        var url = "/_matrix/client/v3/sync?filter=" + Uri.EscapeDataString(filter);
        var smallSamples = new List<double>();
        var bigSamples = new List<double>();
        for (var i = -10; i < 50; i++) // alternating, the first 10 rounds warm up
        {
            var s = await TimedSyncAsync(small.Client, url, small.RoomId);
            var b = await TimedSyncAsync(large.Client, url, large.RoomId);
            if (i < 0) continue;
            smallSamples.Add(s);
            bigSamples.Add(b);
        }
        smallSamples.Sort();
        bigSamples.Sort();
        var (smallMedian, bigMedian) = (smallSamples[smallSamples.Count / 2], bigSamples[bigSamples.Count / 2]);
        var big = bigRoomMembers % 1_000 == 0 ? $"{bigRoomMembers / 1_000}k" : $"{bigRoomMembers}";
        Console.WriteLine($"initial sync, lazy-loaded members: 10-member room p50 {smallMedian:F2} ms, {bigRoomMembers:N0}-member room p50 {bigMedian:F2} ms, ratio {bigMedian / smallMedian:F2}");
        BenchMetrics.Record($"sync_lazy_ratio_{big}_vs_10", bigMedian / smallMedian, "x", Target.AtMost(1.5),
            $"initial sync p50 with lazy_load_members, one room of {bigRoomMembers:N0} vs 10 members ({bigMedian:F2} vs {smallMedian:F2} ms), over HTTP");
        if (Environment.GetEnvironmentVariable("MATRIX_BENCH_DIAG") == "1")
            foreach (var (name, member) in new[] { ("small", small), ("large", large) })
            {
                var json = System.Text.Json.Nodes.JsonNode.Parse(await member.Client.GetStringAsync(url))!;
                var room = json["rooms"]!["join"]![member.RoomId]!;
                Console.WriteLine($"diag {name}: {room["state"]!["events"]!.AsArray().Count} state events, {room["timeline"]!["events"]!.AsArray().Count} timeline events, {json.ToJsonString().Length:N0} chars");
                Console.WriteLine($"diag {name} state types: " + string.Join(", ", room["state"]!["events"]!.AsArray()
                    .GroupBy(e => (string)e!["type"]!).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}")));
                await DiagnoseAsync(host.ConnectionString, name, () => TimedSyncAsync(member.Client, url, member.RoomId));
            }
        small.Client.Dispose();
        large.Client.Dispose();
    }

    /// <summary>Which tables and indexes five syncs read, and how many tuples (pg_stat_user_*): what grows with the room.</summary>
    private static async Task DiagnoseAsync(string connectionString, string name, Func<Task<double>> sync)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var reset = new Npgsql.NpgsqlCommand("select pg_stat_reset()", connection)) await reset.ExecuteNonQueryAsync();
        for (var i = 0; i < 5; i++) await sync();
        await Task.Delay(2_500);
        await using (var clear = new Npgsql.NpgsqlCommand("select pg_stat_clear_snapshot()", connection)) await clear.ExecuteNonQueryAsync();
        const string sql = """
            select 'idx ' || relname || '.' || indexrelname, idx_scan, idx_tup_read, idx_tup_fetch from pg_stat_user_indexes where idx_tup_read > 0
            union all
            select 'seq ' || relname, seq_scan, seq_tup_read, 0 from pg_stat_user_tables where seq_tup_read > 0
            order by 3 desc
            """;
        await using var cmd = new Npgsql.NpgsqlCommand(sql, connection);
        await using var reader = await cmd.ExecuteReaderAsync();
        Console.WriteLine($"diag {name}: 5 syncs (relation, scans, tuples read, fetched)");
        while (await reader.ReadAsync())
            Console.WriteLine($"  {reader.GetString(0)} {reader.GetInt64(1)} {reader.GetInt64(2)} {reader.GetInt64(3)}");
    }

    private static async Task<double> TimedSyncAsync(HttpClient client, string url, string roomId)
    {
        var stopwatch = Stopwatch.StartNew();
        var body = JsonNode.Parse(await client.GetStringAsync(url))!;
        var elapsed = stopwatch.Elapsed.TotalMilliseconds;
        if (body["rooms"]?["join"]?[roomId] is null) throw new InvalidOperationException($"expected {roomId} in the sync");
        return elapsed;
    }

    /// <summary>One room seeded in bulk with <paramref name="members"/> members, and a new account invited by its creator and joined.
    /// 40 activity steps whatever the size (<see cref="SeedOptions.Activity"/>): the two rooms differ in members only —
    /// the metric is about lazy-loading members, not about a room's other state, which an initial sync returns whole —
    /// and history visibility <c>shared</c> in both, then 20 messages by the creator, so both timelines are full.</summary>
    private static async Task<(HttpClient Client, string RoomId)> SeededRoomMemberAsync(BenchHost host, IMessageBus bus, int members, int seed)
    {
        var store = host.App.Services.GetRequiredService<IDocumentStore>();
        var seeded = await new RoomSeeder(store, new ServiceCollection().BuildServiceProvider(), NullLogger<RoomSeeder>.Instance)
            .SeedAsync(new SeedOptions { Rooms = 1, Members = members, Events = 2 * members + 40, Activity = 40, Seed = seed }, bulk: true, new NoProgress(), CancellationToken.None);
        var roomId = seeded.RoomIds[0];
        string creator;
        await using (var query = store.QuerySession())
            creator = (await query.LoadAsync<Projections.Documents.RoomStateEntry>(Projections.Documents.RoomStateEntry.IdFor(roomId, "m.room.create", "")))!.Event.Sender;
        // The same history visibility in both rooms (the script's activity may have left either at "joined"), so both
        // answers carry a full timeline: the rooms differ in members only.
        var shared = await bus.InvokeAsync<RoomCommandResult>(new SetRoomState
        {
            RoomId = roomId, Sender = creator, EventType = "m.room.history_visibility", StateKey = "",
            Content = new JsonObject { ["history_visibility"] = "shared" },
        });
        if (shared.Error is { } refused) throw new InvalidOperationException($"history visibility of the seeded room: {refused.ErrCode} {refused.Error}");
        // Visibility applies from the change on: 20 messages after it fill the timeline in both rooms alike.
        for (var i = 0; i < 20; i++) await SendAsync(bus, roomId, creator, $"after the visibility change {i}");
        var client = await ClientAsync(host);
        var userId = await UserIdAsync(client);
        var invited = await bus.InvokeAsync<RoomCommandResult>(new InviteUser { RoomId = roomId, Sender = creator, UserId = userId });
        if (invited.Error is { } error) throw new InvalidOperationException($"invite into the seeded room: {error.ErrCode} {error.Error}");
        await PostJsonAsync(client, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/join", new JsonObject());
        return (client, roomId);
    }

    private sealed class NoProgress : Matrix.Rooms.Tooling.Transfer.ITransferObserver
    {
        public void Started(long totalEvents, int rooms) { }
        public void Advance(long events) { }
        public void Note(string message) { }
    }

    /// <summary>p50 of an incremental sync (timeout 0) of a user in <paramref name="rooms"/> rooms, one of which changed since the token.</summary>
    private static async Task<double> IncrementalAsync(BenchHost host, IMessageBus bus, HttpClient writer, string writerId, int rooms)
    {
        using var user = await ClientAsync(host);
        var first = "";
        for (var r = 0; r < rooms; r++)
        {
            var roomId = (await PostJsonAsync(writer, "/_matrix/client/v3/createRoom", new JsonObject { ["preset"] = "public_chat" }))["room_id"]!.GetValue<string>();
            await PostJsonAsync(user, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/join", new JsonObject());
            if (r == 0) first = roomId;
        }
        var samples = new List<double>();
        for (var i = 0; i < 60; i++)
        {
            var since = JsonNode.Parse(await user.GetStringAsync("/_matrix/client/v3/sync?filter=" + Uri.EscapeDataString("""{"room":{"timeline":{"limit":1}}}""")))!["next_batch"]!.GetValue<string>();
            await SendAsync(bus, first, writerId, $"change {i}");
            var stopwatch = Stopwatch.StartNew();
            var body = JsonNode.Parse(await user.GetStringAsync($"/_matrix/client/v3/sync?since={Uri.EscapeDataString(since)}"))!;
            samples.Add(stopwatch.Elapsed.TotalMilliseconds);
            if (body["rooms"]!["join"]!.AsObject().Count != 1) throw new InvalidOperationException("expected the one changed room");
        }
        samples.RemoveRange(0, 10);
        samples.Sort();
        return samples[samples.Count / 2];
    }

    private static string Summary(List<double> samples, double upper)
    {
        samples.Sort();
        return $"p50 {samples[samples.Count / 2]:F2} ms, p{upper * 100:F0} {samples[Math.Min(samples.Count - 1, (int)(samples.Count * upper))]:F2} ms";
    }

    private static Task SendAsync(IMessageBus bus, string roomId, string sender, string body) =>
        bus.InvokeAsync<RoomCommandResult>(new SendRoomEvent
        {
            RoomId = roomId, Sender = sender, EventType = "m.room.message", Content = new JsonObject { ["msgtype"] = "m.text", ["body"] = body },
        });

    private static async Task<HttpClient> ClientAsync(BenchHost host)
    {
        var http = new HttpClient { BaseAddress = new Uri(host.BaseUrl), Timeout = TimeSpan.FromMinutes(2) };
        var register = await PostJsonAsync(http, "/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = "sync" + Guid.NewGuid().ToString("N")[..12], ["password"] = "bench password", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", register["access_token"]!.GetValue<string>());
        return http;
    }

    private static async Task<string> UserIdAsync(HttpClient http) =>
        JsonNode.Parse(await http.GetStringAsync("/_matrix/client/v3/account/whoami"))!["user_id"]!.GetValue<string>();

    private static async Task<JsonObject> PostJsonAsync(HttpClient http, string url, JsonObject body)
    {
        var response = await http.PostAsync(url, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{url}: {text}");
        return (JsonObject)JsonNode.Parse(text)!;
    }
}
