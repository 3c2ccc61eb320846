using System.Diagnostics;
using System.Text;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Clients;

/// <summary>
/// The real clients' programs (<c>tests/clients/</c>) and what they need installed. The tests install it themselves —
/// pinned npm packages with <c>npm ci</c>, Debian's <c>python3-matrix-nio</c> with apt — and fail with a plain
/// sentence naming the prerequisite when that cannot be done.
/// </summary>
public static class ClientPrograms
{
    public static string ClientsDirectory { get; } = Path.Combine(TestDatabase.RepositoryRoot, "tests", "clients");

    /// <summary>Debian's interpreter: the Debian package installs nio for it, not for another Python on the PATH.</summary>
    public const string DebianPython = "/usr/bin/python3";

    private static readonly SemaphoreSlim Installing = new(1, 1);

    public static async Task EnsureNodePackagesAsync(string project)
    {
        var directory = Path.Combine(ClientsDirectory, project);
        await Installing.WaitAsync();
        try
        {
            var installed = Path.Combine(directory, "node_modules", ".package-lock.json");
            if (File.Exists(installed) && File.GetLastWriteTimeUtc(installed) >= File.GetLastWriteTimeUtc(Path.Combine(directory, "package-lock.json")))
                return;
            var run = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], directory, new Dictionary<string, string>(), TimeSpan.FromMinutes(5));
            if (run.ExitCode != 0)
                throw new InvalidOperationException($"Prerequisite missing: `npm ci` in tests/clients/{project} failed (is the npm registry reachable?):\n{run.Output}");
        }
        finally
        {
            Installing.Release();
        }
    }

    public static Task EnsureMatrixNioAsync() => EnsureDebianPythonModuleAsync("nio", "python3-matrix-nio");

    /// <summary>Installs the Debian package providing <paramref name="module"/> for <see cref="DebianPython"/> when it cannot
    /// be imported; when the install fails on stale package lists, refreshes them once (<c>apt-get update</c>) and retries.</summary>
    public static async Task EnsureDebianPythonModuleAsync(string module, string package)
    {
        await Installing.WaitAsync();
        try
        {
            if ((await RunAsync(DebianPython, ["-c", $"import {module}"], ClientsDirectory, new Dictionary<string, string>(), TimeSpan.FromMinutes(1))).ExitCode == 0) return;
            var apt = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
            var install = await RunAsync("apt-get", ["install", "-y", "-q", package], ClientsDirectory, apt, TimeSpan.FromMinutes(10));
            if (install.ExitCode != 0)
            {
                await RunAsync("apt-get", ["update", "-q"], ClientsDirectory, apt, TimeSpan.FromMinutes(5));
                install = await RunAsync("apt-get", ["install", "-y", "-q", package], ClientsDirectory, apt, TimeSpan.FromMinutes(10));
            }
            if (install.ExitCode != 0)
                throw new InvalidOperationException(
                    $"Prerequisite missing: Debian's {package} is not installed and `apt-get install -y {package}` failed " +
                    $"(run it as root):\n{install.Output}");
        }
        finally
        {
            Installing.Release();
        }
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string program, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string> environment, TimeSpan bound)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, $"{program} could not be started: {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            lock (output) return (-1, $"{program} {string.Join(' ', args)} did not end within {bound}:\n{output}");
        }
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }
}
