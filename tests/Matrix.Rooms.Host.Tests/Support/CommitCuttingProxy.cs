using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Matrix.Rooms.Host.Tests.Support;

/// <summary>
/// A TCP proxy between the Host and PostgreSQL that can lose a commit's answer: once <see cref="ArmCutAfterCommit"/> is
/// called, the first connection that sends a <c>COMMIT</c> after a statement containing the marker has that COMMIT
/// forwarded to PostgreSQL (which commits) and is then cut before the answer comes back; every other connection is cut
/// too, and the proxy refuses new ones until <see cref="Restore"/>. The Host sees exactly what a crash right after COMMIT looks like:
/// a dead connection and an unknown outcome. (Npgsql sends a transaction's COMMIT as a simple query, in plain text on a
/// loopback connection without TLS.)
/// </summary>
public sealed class CommitCuttingProxy : IAsyncDisposable
{
    private static readonly byte[] Commit = Encoding.ASCII.GetBytes("COMMIT\0");
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private string? _marker;
    private volatile bool _down;
    private readonly ConcurrentDictionary<TcpClient, byte> _open = new();

    public CommitCuttingProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Set once a commit has been forwarded and its connection cut.</summary>
    public bool CutDone { get; private set; }

    public void ArmCutAfterCommit(string marker) => Volatile.Write(ref _marker, marker);

    public void Restore() => _down = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            if (_down) { client.Client.Close(0); continue; }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var server = new TcpClient();
        var swallowAnswer = new TaskCompletionSource();
        _open[client] = 0;
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _targetPort);
            var toClient = ToClient(server.GetStream(), client, swallowAnswer.Task);
            var toServer = ToServer(client, server.GetStream(), swallowAnswer);
            await Task.WhenAny(toClient, toServer);
            if (swallowAnswer.Task.IsCompleted) await toClient; // hold the server side open until PostgreSQL has answered the COMMIT
        }
        catch (Exception) { /* a cut or a closed peer ends the relay */ }
        finally
        {
            _open.TryRemove(client, out _);
            client.Client.Close(0);
            server.Client.Close();
            client.Dispose();
        }
    }

    /// <summary>PostgreSQL → Host; once the cut is decided, PostgreSQL's answer to the COMMIT is dropped and the Host's connection reset.</summary>
    private async Task ToClient(NetworkStream from, TcpClient client, Task cut)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0) return;
            if (cut.IsCompleted)
            {
                client.Client.Close(0);
                CutDone = true;
                return;
            }
            await client.GetStream().WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    /// <summary>Host → PostgreSQL, watching for the marked transaction's COMMIT.</summary>
    private async Task ToServer(TcpClient self, NetworkStream to, TaskCompletionSource cut)
    {
        var from = self.GetStream();
        var buffer = new byte[64 * 1024];
        var sawMarker = false;
        var tail = "";
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0) return;
            if (Volatile.Read(ref _marker) is { } marker)
            {
                // The last bytes of the previous read too, so a marker split across reads is still seen.
                var text = tail + Encoding.Latin1.GetString(buffer, 0, read);
                sawMarker |= text.Contains(marker, StringComparison.OrdinalIgnoreCase);
                tail = text.Length > 256 ? text[^256..] : text;
                if (sawMarker && buffer.AsSpan(0, read).IndexOf(Commit) >= 0 && Interlocked.Exchange(ref _marker, null) is not null)
                {
                    _down = true;
                    cut.TrySetResult();
                    foreach (var other in _open.Keys.Where(c => c != self)) other.Client.Close(0);
                    await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                    return;
                }
            }
            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _accepting; } catch (Exception) { }
        _stop.Dispose();
    }
}
