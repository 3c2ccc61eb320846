using System.Diagnostics;
using Matrix.Rooms.Bench.All;

namespace Matrix.Rooms.Bench.Scenarios;

/// <summary>
/// <c>startup [runs]</c>: the built Host (src/Host/bin/&lt;configuration&gt;, Production, so the committed generated code is
/// loaded) from process start to its first <c>200</c> on <c>/_matrix/client/versions</c>, on a database of the bench
/// cluster that a first, uncounted start has already migrated. Median of the runs; each Host is stopped with SIGTERM.
/// </summary>
public static class StartupScenario
{
    public static async Task RunAsync(int runs)
    {
        var root = BenchHost.RepositoryRoot();
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var dll = Path.Combine(root, "src", "Host", "bin", configuration, "net10.0", "Matrix.Rooms.Host.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"Build the Host first ({configuration})", dll);

        using var cluster = BenchCluster.StartOrAttach();
        var database = $"bench_startup_{DateTime.UtcNow:yyyyMMddHHmmss}";
        var connection = cluster.CreateDatabase(database);
        try
        {
            await StartOnceAsync(dll, connection); // migrates the schema: not counted
            var times = new List<double>();
            for (var i = 0; i < runs; i++) times.Add(await StartOnceAsync(dll, connection));
            Console.WriteLine($"start-up to the first 200 on /versions ({configuration}, Production): {string.Join(" ", times.Select(t => $"{t:F0}"))} ms");
            times.Sort();
            BenchMetrics.Record("startup_ms", times[times.Count / 2], "ms", note: $"process start → first /versions 200, {configuration} build, Production, median of {runs}");
        }
        finally
        {
            cluster.DropDatabase(database);
        }
    }

    private static async Task<double> StartOnceAsync(string dll, string connection)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        start.Environment["ConnectionStrings__Marten"] = connection;
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var clock = Stopwatch.StartNew();
        using var host = Process.Start(start)!;
        // Drain its output so a chatty Host never blocks on a full pipe.
        host.OutputDataReceived += (_, _) => { };
        host.ErrorDataReceived += (_, _) => { };
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();
        try
        {
            while (true)
            {
                if (host.HasExited) throw new InvalidOperationException($"The Host exited with {host.ExitCode} before answering");
                if (clock.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException("No 200 from /versions within 2 minutes");
                try
                {
                    using var response = await http.GetAsync($"http://127.0.0.1:{port}/_matrix/client/versions");
                    if (response.IsSuccessStatusCode) return clock.Elapsed.TotalMilliseconds;
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }
                catch (TaskCanceledException)
                {
                    // listening but not answering within the client's timeout (a loaded machine): ask again
                }
                await Task.Delay(10);
            }
        }
        finally
        {
            if (!host.HasExited)
            {
                using var term = Process.Start("kill", ["-TERM", host.Id.ToString()]);
                await term.WaitForExitAsync();
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try { await host.WaitForExitAsync(patience.Token); }
                catch (OperationCanceledException) { host.Kill(); }
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
