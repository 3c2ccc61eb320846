using System.Diagnostics;
using System.Text;

namespace Matrix.Rooms.Host.Tests.Support;

/// <summary>Runs a Host command as its own process (<c>dotnet Matrix.Rooms.Host.dll …</c>) on a database, with a bound on its run time.</summary>
public static class HostProcess
{
    public static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyDictionary<string, string> environment, TimeSpan bound, params string[] args)
    {
        var run = await RunSeparatelyAsync(environment, bound, args);
        return (run.ExitCode, run.Output);
    }

    /// <summary>As <see cref="RunAsync"/>, with standard output and standard error apart (and together, in order).</summary>
    public static async Task<HostRun> RunSeparatelyAsync(IReadOnlyDictionary<string, string> environment, TimeSpan bound, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = TestDatabase.RepositoryRoot, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        // MATRIX_ROOMS_HOST_DLL runs another build of the Host, e.g. to see a test fail on the code before a change.
        start.ArgumentList.Add(Environment.GetEnvironmentVariable("MATRIX_ROOMS_HOST_DLL") is { Length: > 0 } other
            ? other
            : Path.Combine(AppContext.BaseDirectory, "Matrix.Rooms.Host.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        var output = new StringBuilder();
        var (stdout, stderr) = (new StringBuilder(), new StringBuilder());
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (output) { if (e.Data is null) return; output.AppendLine(e.Data); stdout.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { if (e.Data is null) return; output.AppendLine(e.Data); stderr.AppendLine(e.Data); } };
        process.Start();
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
            throw new TimeoutException($"dotnet Matrix.Rooms.Host.dll {string.Join(' ', args)} did not end within {bound}:\n{output}");
        }
        process.WaitForExit(); // flushes the redirected output
        lock (output) return new HostRun(process.ExitCode, output.ToString(), stdout.ToString(), stderr.ToString());
    }
}

public sealed record HostRun(int ExitCode, string Output, string StandardOutput, string StandardError);
