namespace Matrix.Rooms.Host.Commands;

public static class CommandHost
{
    /// <summary>
    /// Starts the Host's services (Wolverine, Marten) for a command-line command. Commands drive the engine in process
    /// and need no HTTP port, so the server binds a throwaway loopback port and never clashes with a running Host.
    /// </summary>
    public static Task StartWithoutServingAsync(this IHost host)
    {
        if (host is WebApplication web)
        {
            web.Urls.Clear();
            web.Urls.Add("http://127.0.0.1:0");
        }
        return host.StartAsync();
    }
}
