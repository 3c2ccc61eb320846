using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Matrix.Rooms.Host.Tests.Cluster;

/// <summary>
/// One Host node as an operator runs it: its own process (<c>dotnet Matrix.Rooms.Host.dll</c>) on a loopback port, with
/// its own data directory, on a database it shares with the other nodes. Shared by the cluster test and the cluster
/// bench (bench/Matrix.Rooms.Bench links this file), so it names nothing of either.
/// </summary>
public sealed class HostNode : IAsyncDisposable
{
    private readonly ProcessStartInfo _start;
    private readonly StringBuilder _output = new();
    private Process? _process;

    /// <param name="name">For messages only.</param>
    /// <param name="connectionString">The shared database (<c>ConnectionStrings:Marten</c>).</param>
    /// <param name="workingDirectory">The repository root (the Host resolves relative paths from there).</param>
    /// <param name="environment">More settings (environment variables, <c>MatrixRooms__…</c>).</param>
    public HostNode(string name, string connectionString, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        Name = name;
        DataDirectory = Path.Combine(Path.GetTempPath(), $"matrix-rooms-node-{name}-{Guid.NewGuid().ToString("N")[..8]}");
        _start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Matrix.Rooms.Host.dll"), "--urls", "" },
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        _start.Environment["ConnectionStrings__Marten"] = connectionString;
        _start.Environment["MatrixRooms__DataDirectory"] = DataDirectory;
        _start.Environment["MatrixRooms__PasswordHashIterations"] = "1000";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) _start.Environment[key] = value;
    }

    public string Name { get; }
    /// <summary>The loopback port, chosen when the node starts.</summary>
    public int Port { get; private set; }
    public string BaseUrl => $"http://127.0.0.1:{Port}";
    public string DataDirectory { get; }
    public int ProcessId => _process?.Id ?? 0;
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// Starts the process on a free port and waits for its first <c>200</c> on <c>/_matrix/client/versions</c>. A port
    /// taken by another process between choosing and binding it (tests run in parallel) is replaced, up to three times.
    /// </summary>
    public async Task StartAsync(TimeSpan bound)
    {
        Directory.CreateDirectory(DataDirectory);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnceAsync(bound);
                return;
            }
            catch (InvalidOperationException) when (attempt < 3 && Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                _process?.Dispose();
                lock (_output) _output.Clear();
            }
        }
    }

    private async Task StartOnceAsync(TimeSpan bound)
    {
        Port = FreePort();
        _start.ArgumentList[^1] = BaseUrl;
        _process = Process.Start(_start) ?? throw new InvalidOperationException("dotnet did not start");
        _process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit(); // flushes the redirected output
                throw new InvalidOperationException($"Node {Name} exited with {_process.ExitCode}:\n{Output}");
            }
            try
            {
                if ((await http.GetAsync($"{BaseUrl}/_matrix/client/versions")).IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Node {Name} did not answer /versions within {bound}:\n{Output}");
            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL: the node gets no chance to finish anything, release anything or tell anyone.</summary>
    public void KillHard()
    {
        if (_process is not { HasExited: false }) return;
        _process.Kill(entireProcessTree: false); // SIGKILL on Unix
        _process.WaitForExit();
    }

    /// <summary>SIGTERM, as a service manager stops it; SIGKILL if it has not ended within <paramref name="bound"/>.</summary>
    public async Task StopAsync(TimeSpan bound)
    {
        if (_process is not { HasExited: false }) return;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) kill?.WaitForExit();
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>
    /// The node's id in Wolverine's node table (<c>wolverine_nodes.id</c>), from its log line "Starting agents for Node
    /// {id} …" (Wolverine's <c>NodeAgentController</c>, information level); null until it has logged it.
    /// </summary>
    public Guid? WolverineNodeId =>
        Regex.Match(Output, @"Starting agents for Node ([0-9a-fA-F-]{36})") is { Success: true } match ? Guid.Parse(match.Groups[1].Value) : null;

    /// <summary>What the node wrote (its log is on standard error).</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(30));
        _process?.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
