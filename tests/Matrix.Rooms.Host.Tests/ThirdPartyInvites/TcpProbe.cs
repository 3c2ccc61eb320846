using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Matrix.Rooms.Host.Tests.ThirdPartyInvites;

/// <summary>
/// A loopback socket for the identity-server failure paths: it counts connections (to prove that no request was
/// made), and either never answers (a server that hangs), or answers <c>500</c> with a non-Matrix body (a failing
/// server). These are real TCP peers; what they stand for is only the failure.
/// </summary>
public sealed class TcpProbe : IAsyncDisposable
{
    public enum Behaviour { Silent, Http500 }

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _held = [];
    private readonly Task _loop;
    private int _connections;

    public TcpProbe(Behaviour behaviour)
    {
        _listener.Start();
        _loop = Task.Run(() => AcceptAsync(behaviour));
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public string Authority => $"127.0.0.1:{Port}";
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>A loopback port that nothing listens on (bound, then released).</summary>
    public static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private async Task AcceptAsync(Behaviour behaviour)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            Interlocked.Increment(ref _connections);
            if (behaviour == Behaviour.Silent)
            {
                lock (_held) _held.Add(client);
                continue;
            }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    var stream = client.GetStream();
                    var buffer = new byte[8192];
                    var request = new StringBuilder();
                    while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var read = await stream.ReadAsync(buffer);
                        if (read == 0) return;
                        request.Append(Encoding.ASCII.GetString(buffer, 0, read));
                    }
                    const string body = "<html>Internal Server Error</html>";
                    var response = $"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(response));
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_held)
            foreach (var client in _held) client.Dispose();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
    }
}
