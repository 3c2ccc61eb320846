using System.Diagnostics;
using System.Text;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Host.Tests.ThirdPartyInvites;

namespace Matrix.Rooms.Host.Tests.Clients;

/// <summary>
/// The Host as real clients meet it: its own process (<c>dotnet Matrix.Rooms.Host.dll</c>, what
/// <c>dotnet run --project src/Host</c> runs), on a loopback port, its own database and data directory (so its own mail
/// drop). Clients reach it only over HTTP.
/// </summary>
public sealed class ClientHostFixture : IAsyncLifetime
{
    public int Port { get; } = TcpProbe.ClosedPort();
    public string BaseUrl => $"http://127.0.0.1:{Port}";
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "matrix-rooms-clients-" + Guid.NewGuid().ToString("N")[..8]);
    public string MailDrop => Path.Combine(DataDirectory, "maildrop");

    private Process? _host;
    private readonly StringBuilder _output = new();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDirectory);
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Matrix.Rooms.Host.dll"), "--urls", BaseUrl },
            WorkingDirectory = TestDatabase.RepositoryRoot,
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.Environment["ConnectionStrings__Marten"] = TestDatabase.NewDatabase("clients");
        start.Environment["MatrixRooms__DataDirectory"] = DataDirectory;
        start.Environment["MatrixRooms__PasswordHashIterations"] = "1000";
        _host = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        _host.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _host.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _host.BeginOutputReadLine();
        _host.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            if (_host.HasExited) throw new InvalidOperationException($"The Host exited with {_host.ExitCode}:\n{Output}");
            try
            {
                if ((await http.GetAsync($"{BaseUrl}/_matrix/client/versions")).IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The Host did not answer /versions:\n{Output}");
            await Task.Delay(250);
        }
    }

    /// <summary>What the Host wrote (its log is on stderr).</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public async Task DisposeAsync()
    {
        if (_host is { HasExited: false })
        {
            // SIGTERM: the Host shuts down as it would under a service manager.
            Process.Start("kill", ["-TERM", _host.Id.ToString()])?.WaitForExit();
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _host.WaitForExitAsync(bound.Token);
            }
            catch (OperationCanceledException)
            {
                _host.Kill(entireProcessTree: true);
            }
        }
        _host?.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClientHostCollection : ICollectionFixture<ClientHostFixture>
{
    public const string Name = "real clients";
}
