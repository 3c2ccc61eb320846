using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Bench.All;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Rooms;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Npgsql;
using Wolverine;

namespace Matrix.Rooms.Bench.Scenarios;

/// <summary>
/// The brief's end-to-end targets, measured against a real Host and PostgreSQL:
/// <list type="bullet">
/// <item><c>commands</c>: 4 concurrent senders on distinct rooms (Wolverine → Marten append → inline projections) against
/// the raw single-row durable insert rate of the same cluster, in the same run. Target ratio ≥ 0.35.</item>
/// <item><c>room-size</c>: median invite latency in a 100,000-member room against a 10-member room. Target ≤ 1.5×.</item>
/// <item><c>messages</c>: <c>GET /messages?limit=100</c> latency over HTTP.</item>
/// </list>
/// </summary>
public static class EndToEndScenarios
{
    private const int Senders = 4;
    private const int WarmUpCommands = 2_000;

    /// <param name="kind"><c>invite</c> (a member event: every membership projection moves) or <c>send</c> (a message).</param>
    /// <param name="http">Also the same invites over loopback HTTP (keep-alive), 4 concurrent clients.</param>
    public static async Task CommandsAsync(TimeSpan duration, string kind = "invite", bool http = true)
    {
        await using var host = await BenchHost.StartAsync();
        var raw = await RawInsertRateAsync(host.ConnectionString, duration);
        Console.WriteLine($"raw PostgreSQL single-row durable inserts, {Senders} connections: {raw:N0} rows/s");
        // The send run measures its own baseline; its name says so, so that one report holds both runs.
        var baseline = kind == "send" ? "pg_insert_tps_c4_send_run" : "pg_insert_tps_c4";
        BenchMetrics.Record(baseline, raw, "rows/s", note: "single-row durable inserts, 4 connections: the baseline of the run");

        const string owner = "@bench_owner:localhost";
        var rooms = new List<string>();
        for (var i = 0; i < Senders; i++)
            rooms.Add((await host.NewBus().InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = owner })).RoomId!);

        var failures = 0L;
        async Task<double> RunAsync(string prefix, TimeSpan limit, long perSender)
        {
            var counts = new long[Senders];
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Senders).Select(async s =>
            {
                var bus = host.NewBus();
                var n = 0L;
                while (stopwatch.Elapsed < limit && n < perSender)
                {
                    RoomCommand command = kind == "send"
                        ? new SendRoomEvent { RoomId = rooms[s], Sender = owner, EventType = "m.room.message", Content = new JsonObject { ["msgtype"] = "m.text", ["body"] = $"{prefix} {n}" } }
                        : new InviteUser { RoomId = rooms[s], Sender = owner, UserId = $"@{prefix}{s}_{n}:localhost" };
                    var result = await bus.InvokeAsync<RoomCommandResult>(command);
                    if (result.Error is null) n++;
                    else Interlocked.Increment(ref failures);
                }
                counts[s] = n;
            }));
            return counts.Sum() / stopwatch.Elapsed.TotalSeconds;
        }
        // Warm-up: the JIT's tiering (tier 0, instrumented, tier 1) of the write path takes a few thousand commands;
        // before it, one command costs about three times the CPU (bench `profile 600 invite 50` vs `profile 600 invite
        // 3000`, docs/benchmarks.md). A server runs warm, and the baseline's one statement warms up in milliseconds.
        var warm = await RunAsync("w", TimeSpan.FromSeconds(30), WarmUpCommands / Senders);
        Console.WriteLine($"warm-up: {WarmUpCommands} {kind} commands, {warm:N0} commands/s");
        var commands = await RunAsync("u", duration, long.MaxValue);
        Console.WriteLine($"end-to-end {kind} commands, {Senders} concurrent senders on distinct rooms: {commands:N0} commands/s ({failures} refused)");
        Console.WriteLine($"ratio commands / raw inserts: {commands / raw:F2} (target >= 0.35)");
        var name = kind == "send" ? "message" : "invite";
        BenchMetrics.Record($"{name}_tps_c4_warmup", warm, "commands/s", note: $"the first {WarmUpCommands:N0} commands after start (JIT tiering), not counted above");
        BenchMetrics.Record($"{name}_tps_c4", commands, "commands/s", note: "IMessageBus, 4 senders on distinct rooms");
        BenchMetrics.Record($"{name}_ratio_vs_pg", commands / raw, "x", Target.AtLeast(0.35), $"{name}_tps_c4 ÷ {baseline}");
        if (!http || kind != "invite") return;

        var rps = await HttpInviteRateAsync(host, duration);
        Console.WriteLine($"invites over loopback HTTP, {Senders} keep-alive clients on distinct rooms: {rps:N0} requests/s");
        BenchMetrics.Record("http_invite_rps_c4", rps, "requests/s", note: "POST /invite over loopback HTTP, 4 keep-alive clients");
        BenchMetrics.Record("http_ratio_vs_bus", rps / commands, "x", note: "http_invite_rps_c4 ÷ invite_tps_c4");
    }

    private static async Task<double> HttpInviteRateAsync(BenchHost host, TimeSpan duration)
    {
        using var http = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
        var register = await PostJsonAsync(http, "/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = "inviter" + Random.Shared.Next(1_000_000), ["password"] = "bench password", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", register["access_token"]!.GetValue<string>());
        var rooms = new List<string>();
        for (var i = 0; i < Senders; i++)
            rooms.Add((await PostJsonAsync(http, "/_matrix/client/v3/createRoom", new JsonObject()))["room_id"]!.GetValue<string>());
        for (var i = 0; i < 20; i++) // warm-up: the HTTP pipeline's first requests
            await PostJsonAsync(http, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(rooms[0])}/invite", new JsonObject { ["user_id"] = $"@warm{i}:localhost" });

        var counts = new long[Senders];
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(async s =>
        {
            var url = $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(rooms[s])}/invite";
            var n = 0L;
            while (stopwatch.Elapsed < duration)
            {
                await PostJsonAsync(http, url, new JsonObject { ["user_id"] = $"@h{s}_{n}:localhost" });
                n++;
            }
            counts[s] = n;
        }));
        return counts.Sum() / stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task<double> RawInsertRateAsync(string connectionString, TimeSpan duration)
    {
        await using (var setup = new NpgsqlConnection(connectionString))
        {
            await setup.OpenAsync();
            await using var create = new NpgsqlCommand("create table if not exists bench_raw_insert (id bigserial primary key, payload jsonb not null)", setup);
            await create.ExecuteNonQueryAsync();
        }
        var payload = new JsonObject
        {
            ["type"] = "m.room.member", ["state_key"] = "@someone:localhost", ["sender"] = "@owner:localhost",
            ["content"] = new JsonObject { ["membership"] = "invite" }, ["event_id"] = Matrix.Rooms.Domain.Identifiers.EventId.New(),
        }.ToJsonString();
        var counts = new long[Senders];
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(async s =>
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand("insert into bench_raw_insert (payload) values (@p::jsonb)", connection);
            insert.Parameters.AddWithValue("p", payload);
            while (stopwatch.Elapsed < duration)
            {
                await insert.ExecuteNonQueryAsync();
                counts[s]++;
            }
        }));
        return counts.Sum() / stopwatch.Elapsed.TotalSeconds;
    }

    public static async Task RoomSizeAsync(int bigRoomMembers, int invites)
    {
        await using var host = await BenchHost.StartAsync();
        const string owner = "@bench_owner:localhost";
        var small = await PopulatedRoomAsync(host, owner, 10);
        var large = await PopulatedRoomAsync(host, owner, bigRoomMembers);

        // Alternate between the rooms so that background work (autovacuum, checkpoints) falls on both alike.
        var bus = host.NewBus();
        var smallSamples = new List<double>();
        var bigSamples = new List<double>();
        for (var i = -20; i < invites; i++) // the first 20 rounds warm up
        {
            var s = await InviteLatencyAsync(bus, small, owner, $"@small{i}:localhost");
            var b = await InviteLatencyAsync(bus, large, owner, $"@big{i}:localhost");
            if (i < 0) continue;
            smallSamples.Add(s);
            bigSamples.Add(b);
        }
        var smallMedian = Median(smallSamples);
        var bigMedian = Median(bigSamples);
        Console.WriteLine($"median invite latency, 10-member room: {smallMedian:F2} ms");
        Console.WriteLine($"median invite latency, {bigRoomMembers:N0}-member room: {bigMedian:F2} ms");
        Console.WriteLine($"ratio: {bigMedian / smallMedian:F2} (target <= 1.5)");
        var big = bigRoomMembers % 1_000 == 0 ? $"{bigRoomMembers / 1_000}k" : $"{bigRoomMembers}";
        BenchMetrics.Record("invite_p50_ms_room10", smallMedian, "ms", note: $"IMessageBus, one sender, {invites} invites alternating with the big room");
        BenchMetrics.Record($"invite_p50_ms_room{big}", bigMedian, "ms", note: $"{bigRoomMembers:N0} joined members");
        BenchMetrics.Record("room_size_ratio", bigMedian / smallMedian, "x", Target.AtMost(1.5), $"invite_p50_ms_room{big} ÷ invite_p50_ms_room10");
    }

    /// <summary>A public room with <paramref name="members"/> joined members, appended in batches through Marten (inline projections included).</summary>
    private static async Task<string> PopulatedRoomAsync(BenchHost host, string owner, int members)
    {
        var roomId = (await host.NewBus().InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = owner, Preset = Presets.PublicChat })).RoomId!;
        var store = host.App.Services.GetRequiredService<IDocumentStore>();
        var stopwatch = Stopwatch.StartNew();
        var version = RoomVersion.Default;
        long streamVersion;
        string previous;
        await using (var query = store.QuerySession())
        {
            var head = await query.LoadAsync<Projections.Documents.RoomHead>(roomId);
            (streamVersion, previous) = (head!.StreamVersion, head.LastEventId);
        }
        const int batch = 2_000;
        for (var start = 1; start < members; start += batch)
        {
            var events = new List<object>();
            for (var i = start; i < Math.Min(members, start + batch); i++)
            {
                var join = MatrixEvent.Create(EventTypes.Member, roomId, $"@member{i}:localhost", $"@member{i}:localhost",
                    new JsonObject { ["membership"] = "join" }, SystemClock.Instance.GetCurrentInstant()).After(previous, version);
                events.Add(join);
                previous = join.EventId;
            }
            await using var session = store.LightweightSession();
            session.Events.Append(roomId, streamVersion + events.Count, events.ToArray());
            await session.SaveChangesAsync();
            streamVersion += events.Count;
            if (members > 10_000 && start % 20_000 < batch)
                Console.WriteLine($"  populated {start + events.Count - 1:N0}/{members:N0} members ({(start + events.Count) / stopwatch.Elapsed.TotalSeconds:N0} events/s)");
        }
        return roomId;
    }

    private static async Task<double> InviteLatencyAsync(IMessageBus bus, string roomId, string owner, string invitee)
    {
        var stopwatch = Stopwatch.StartNew();
        var result = await bus.InvokeAsync<RoomCommandResult>(new InviteUser { RoomId = roomId, Sender = owner, UserId = invitee });
        var elapsed = stopwatch.Elapsed.TotalMilliseconds;
        return result.Error is null ? elapsed : throw new InvalidOperationException(result.Error.ToString());
    }

    private static double Median(List<double> samples)
    {
        samples.Sort();
        return samples[samples.Count / 2];
    }

    public static async Task MessagesAsync(int messages, int requests)
    {
        await using var host = await BenchHost.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
        var register = await PostJsonAsync(http, "/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = "bench" + Random.Shared.Next(1_000_000), ["password"] = "bench password", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        var userId = register["user_id"]!.GetValue<string>();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", register["access_token"]!.GetValue<string>());
        var roomId = (await PostJsonAsync(http, "/_matrix/client/v3/createRoom", new JsonObject()))["room_id"]!.GetValue<string>();
        var bus = host.NewBus();
        for (var i = 0; i < messages; i++)
            await bus.InvokeAsync<RoomCommandResult>(new SendRoomEvent
            {
                RoomId = roomId, Sender = userId, EventType = "m.room.message", Content = new JsonObject { ["msgtype"] = "m.text", ["body"] = $"message {i}" },
            });

        var url = $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/messages?dir=b&limit=100";
        for (var i = 0; i < 20; i++) await http.GetStringAsync(url);
        var samples = new List<double>();
        for (var i = 0; i < requests; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            var body = await http.GetStringAsync(url);
            samples.Add(stopwatch.Elapsed.TotalMilliseconds);
            if (JsonNode.Parse(body)!["chunk"]!.AsArray().Count != 100) throw new InvalidOperationException("expected a full page");
        }
        samples.Sort();
        Console.WriteLine($"GET /messages?limit=100 over HTTP ({messages:N0}-event room, {requests} requests): " +
                          $"p50 {samples[samples.Count / 2]:F2} ms, p95 {samples[(int)(samples.Count * 0.95)]:F2} ms");
        BenchMetrics.Record("messages_page_p50_ms", samples[samples.Count / 2], "ms", note: $"GET /messages?limit=100 over loopback HTTP, {messages:N0}-event room, {requests} requests");
    }

    private static async Task<JsonObject> PostJsonAsync(HttpClient http, string url, JsonObject body)
    {
        var response = await http.PostAsync(url, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{url}: {text}");
        return (JsonObject)JsonNode.Parse(text)!;
    }
}
