using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Bench.All;

namespace Matrix.Rooms.Bench.Scenarios;

/// <summary>
/// Password hashing under a login storm (issue 9, defect 8): 16 clients log in without pause (real PBKDF2, 600,000
/// iterations) while one client measures unrelated requests (<c>GET /account/whoami</c>, which reads the database, and
/// <c>GET /versions</c>). <c>bounded</c> runs with the Host's hashing bound (half the cores, queue 4); <c>unbounded</c>
/// lifts it, as the code was before. Per-address login limits are off here, so what is measured is the hashing bound.
/// </summary>
public static class LoginScenario
{
    public static async Task RunAsync(TimeSpan duration, string mode, int loginClients = 16)
    {
        var settings = new Dictionary<string, string?> { ["MatrixRooms:PasswordHashIterations"] = "600000" };
        if (mode == "unbounded")
        {
            settings["MatrixRooms:RateLimits:PasswordHashing:MaxConcurrent"] = "1000";
            settings["MatrixRooms:RateLimits:PasswordHashing:QueueLimit"] = "1000";
        }
        await using var host = await BenchHost.StartAsync(settings);
        using var http = new HttpClient { BaseAddress = new Uri(host.BaseUrl), Timeout = TimeSpan.FromMinutes(2) };
        var user = "bench" + Random.Shared.Next(1_000_000);
        const string password = "bench password";
        var register = await PostAsync(http, "/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = user, ["password"] = password, ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        var token = JsonNode.Parse(register.Body)!["access_token"]!.GetValue<string>();

        var idle = await UnrelatedAsync(http, token, TimeSpan.FromSeconds(5), CancellationToken.None);

        using var stop = new CancellationTokenSource(duration);
        var logins = new List<double>();
        var refused = 0;
        var loginBody = new JsonObject
        {
            ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = user }, ["password"] = password,
        };
        var storm = Enumerable.Range(0, loginClients).Select(_ => Task.Run(async () =>
        {
            using var client = new HttpClient { BaseAddress = new Uri(host.BaseUrl), Timeout = TimeSpan.FromMinutes(2) };
            while (!stop.IsCancellationRequested)
            {
                var (status, _, ms) = await PostAsync(client, "/_matrix/client/v3/login", loginBody, throwOnError: false);
                lock (logins)
                    if (status == 200) logins.Add(ms);
                    else if (status == 429) refused++;
                    else throw new InvalidOperationException($"login answered {status}");
                if (status == 429) await Task.Delay(100); // a client honouring the hint would wait longer still
            }
        })).ToList();
        await Task.Delay(TimeSpan.FromSeconds(1));
        var loaded = await UnrelatedAsync(http, token, duration - TimeSpan.FromSeconds(2), CancellationToken.None);
        await Task.WhenAll(storm);

        Console.WriteLine($"logins, {mode}, {Environment.ProcessorCount} cores, {loginClients} login clients for {duration.TotalSeconds:N0} s, PBKDF2 600,000 iterations");
        Console.WriteLine($"  unrelated requests idle:       {Summary(idle)}");
        Console.WriteLine($"  unrelated requests under load: {Summary(loaded)}");
        Console.WriteLine($"  logins answered 200:           {Summary(logins)}");
        Console.WriteLine($"  logins answered 429:           {refused}");
        var idleP50 = idle.Order().ElementAt(idle.Count / 2);
        var loadedP50 = loaded.Order().ElementAt(loaded.Count / 2);
        BenchMetrics.Record($"login_storm_unrelated_p50_ms", loadedP50, "ms", note: $"whoami/versions while {loginClients} clients log in (PBKDF2 600,000, {mode})");
        BenchMetrics.Record($"login_storm_ratio_vs_idle", loadedP50 / idleP50, "x", note: $"login_storm_unrelated_p50_ms ÷ the same requests idle ({idleP50:F1} ms)");
        BenchMetrics.Record("logins_per_s", logins.Count / duration.TotalSeconds, "logins/s", note: $"{refused} answered 429");
    }

    /// <summary>Sequential unrelated requests for <paramref name="duration"/>: whoami and versions, alternating.</summary>
    private static async Task<List<double>> UnrelatedAsync(HttpClient http, string token, TimeSpan duration, CancellationToken ct)
    {
        var samples = new List<double>();
        var until = Stopwatch.StartNew();
        for (var i = 0; until.Elapsed < duration; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, i % 2 == 0 ? "/_matrix/client/v3/account/whoami" : "/_matrix/client/versions");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var stopwatch = Stopwatch.StartNew();
            using var response = await http.SendAsync(request, ct);
            await response.Content.ReadAsStringAsync(ct);
            samples.Add(stopwatch.Elapsed.TotalMilliseconds);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"unrelated request answered {(int)response.StatusCode}");
            await Task.Delay(20, ct);
        }
        return samples;
    }

    private static string Summary(List<double> samples)
    {
        if (samples.Count == 0) return "none";
        var sorted = samples.Order().ToList();
        return $"n={sorted.Count}, p50 {sorted[sorted.Count / 2]:F0} ms, p95 {sorted[(int)(sorted.Count * 0.95)]:F0} ms, max {sorted[^1]:F0} ms";
    }

    private static async Task<(int Status, string Body, double Ms)> PostAsync(HttpClient http, string url, JsonObject body, bool throwOnError = true)
    {
        var stopwatch = Stopwatch.StartNew();
        using var response = await http.PostAsync(url, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        var ms = stopwatch.Elapsed.TotalMilliseconds;
        if (throwOnError && !response.IsSuccessStatusCode) throw new InvalidOperationException($"{url}: {text}");
        return ((int)response.StatusCode, text, ms);
    }
}
