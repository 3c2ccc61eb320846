using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Bench.All;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Rooms;
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
