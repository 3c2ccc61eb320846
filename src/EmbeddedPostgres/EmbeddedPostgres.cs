using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Matrix.Rooms.Postgres;

/// <summary>
/// A private PostgreSQL cluster run from the binaries installed on the machine: initdb once, then pg_ctl start on a
/// free loopback port, reuse of a cluster that is already running (another Host or a test run started it), recovery
/// from a stale <c>postmaster.pid</c> after a crash, and pg_ctl stop on dispose when this process started it.
/// Running as root, every PostgreSQL binary runs as <see cref="EmbeddedPostgresOptions.ServiceAccount"/>.
/// </summary>
public sealed class EmbeddedPostgres : IDisposable
{
    private const string PasswordFileName = "matrix_rooms.password";
    private const string PortFileName = "matrix_rooms.port";
    private readonly ILogger _logger;
    private readonly string _binDirectory;
    private readonly string? _runAs;
    private bool _stopped;

    private EmbeddedPostgres(EmbeddedPostgresOptions options, string binDirectory, string dataDirectory, string? runAs, ILogger logger)
    {
        Options = options;
        _binDirectory = binDirectory;
        DataDirectory = dataDirectory;
        _runAs = runAs;
        _logger = logger;
    }

    public EmbeddedPostgresOptions Options { get; }
    public string DataDirectory { get; }
    public int Port { get; private set; }
    public string Password { get; private set; } = "";

    /// <summary>True when this process started the server (and so stops it on dispose).</summary>
    public bool OwnsServer { get; private set; }

    public string ConnectionString(string? database = null) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Password = Password,
        Database = database ?? Options.Database,
        Pooling = true,
        MaxPoolSize = 50,
    }.ConnectionString;

    /// <summary>Starts the cluster (initialising it on first use) or attaches to the one already running there.</summary>
    /// <exception cref="PostgresBinariesNotFoundException">No initdb/pg_ctl on this machine.</exception>
    public static EmbeddedPostgres StartOrAttach(EmbeddedPostgresOptions options, ILogger logger)
    {
        var bin = FindBinaries(options);
        var runAs = Environment.UserName == "root" ? options.ServiceAccount : null;
        var dataDirectory = ResolveDataDirectory(Path.GetFullPath(options.DataDirectory), runAs, logger);
        var server = new EmbeddedPostgres(options, bin, dataDirectory, runAs, logger);

        // One starter at a time per cluster: two test runs, or a test run and a dev Host, may race here.
        using (AcquireStartLock(dataDirectory))
            server.StartOrAttachLocked();
        server.EnsureDatabase(options.Database);
        return server;
    }

    private void StartOrAttachLocked()
    {
        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
            InitialiseCluster();
        Password = File.ReadAllText(Path.Combine(DataDirectory, PasswordFileName)).Trim();

        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        if (File.Exists(pidFile))
        {
            var lines = File.ReadAllLines(pidFile);
            if (lines.Length >= 4 && int.TryParse(lines[0], out var pid) && IsAlive(pid) && int.TryParse(lines[3], out var port))
            {
                Port = port;
                OwnsServer = false;
                _logger.LogInformation("Attached to the PostgreSQL server already running on 127.0.0.1:{Port} (pid {Pid}, data {DataDirectory})",
                    port, pid, DataDirectory);
                return;
            }
            // A crash left the pid file behind; PostgreSQL would refuse to start while it names a live-looking pid.
            _logger.LogWarning("Removing stale {PidFile} left by a server that is no longer running", pidFile);
            File.Delete(pidFile);
        }

        Port = PreferredPort();
        var settings = new List<string> { "-c listen_addresses=127.0.0.1", $"-p {Port}", "-c unix_socket_directories=''" };
        settings.AddRange(Options.ServerSettings.Select(s => $"-c {s.Key}={s.Value}"));
        Run("pg_ctl", "-D", DataDirectory, "-l", Path.Combine(DataDirectory, "server.log"), "-w", "-t", "60",
            "-o", string.Join(' ', settings), "start");
        OwnsServer = true;
        // A server restarted on its old port leaves this process's pooled connections to it dead: drop them.
        foreach (var database in new[] { "postgres", Options.Database })
        {
            using var stale = new NpgsqlConnection(ConnectionString(database));
            NpgsqlConnection.ClearPool(stale);
        }
        _logger.LogInformation("Started PostgreSQL on 127.0.0.1:{Port} (data {DataDirectory}, binaries {BinDirectory})",
            Port, DataDirectory, _binDirectory);
    }

    private void InitialiseCluster()
    {
        Directory.CreateDirectory(DataDirectory);
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        var pwFile = Path.Combine(Path.GetDirectoryName(DataDirectory)!, $".pwfile-{Guid.NewGuid():N}");
        File.WriteAllText(pwFile, password);
        try
        {
            if (_runAs is not null)
            {
                RunRaw("chown", _runAs, DataDirectory, pwFile);
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            _logger.LogInformation("Initialising a new PostgreSQL cluster in {DataDirectory}", DataDirectory);
            Run("initdb", "-D", DataDirectory, "-U", "postgres", $"--pwfile={pwFile}", "-A", "scram-sha-256",
                "-E", "UTF8", "--no-locale", "--no-instructions");
        }
        finally
        {
            File.Delete(pwFile);
        }
        // Root can read it whatever its owner; a non-root user owns it. PostgreSQL ignores unknown files here.
        var passwordPath = Path.Combine(DataDirectory, PasswordFileName);
        File.WriteAllText(passwordPath, password);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(passwordPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private void EnsureDatabase(string database)
    {
        using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        connection.Open();
        using var exists = new NpgsqlCommand("select 1 from pg_database where datname = @name", connection);
        exists.Parameters.AddWithValue("name", database);
        if (exists.ExecuteScalar() is not null) return;
        using var create = new NpgsqlCommand($"create database \"{database.Replace("\"", "\"\"")}\"", connection);
        try
        {
            create.ExecuteNonQuery();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            // Created concurrently by another process: fine.
        }
    }

    /// <summary>Creates a database on this cluster (tests use one per fixture) and returns its connection string.</summary>
    public string CreateDatabase(string database)
    {
        EnsureDatabase(database);
        return ConnectionString(database);
    }

    /// <summary>Drops a database of this cluster, closing any connection still open to it (tests and benchmarks clean up with it).</summary>
    public void DropDatabase(string database)
    {
        using (var stale = new NpgsqlConnection(ConnectionString(database))) NpgsqlConnection.ClearPool(stale);
        using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        connection.Open();
        using var drop = new NpgsqlCommand($"drop database if exists \"{database.Replace("\"", "\"\"")}\" with (force)", connection);
        drop.ExecuteNonQuery();
    }

    /// <summary>The names of this cluster's databases that start with <paramref name="prefix"/>.</summary>
    public IReadOnlyList<string> DatabasesStartingWith(string prefix)
    {
        using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        connection.Open();
        using var list = new NpgsqlCommand("select datname from pg_database where starts_with(datname, @prefix)", connection);
        list.Parameters.AddWithValue("prefix", prefix);
        using var reader = list.ExecuteReader();
        var names = new List<string>();
        while (reader.Read()) names.Add(reader.GetString(0));
        return names;
    }

    public void Stop()
    {
        if (_stopped || !OwnsServer) return;
        _stopped = true;
        try
        {
            Run("pg_ctl", "-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop");
            _logger.LogInformation("Stopped PostgreSQL on 127.0.0.1:{Port}", Port);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Could not stop PostgreSQL in {DataDirectory}", DataDirectory);
        }
    }

    /// <summary>
    /// Stops the server as a crash would (<c>pg_ctl stop -m immediate</c>): backends are killed mid-statement, nothing is
    /// checkpointed, and the next start runs crash recovery. For fault-injection tests; the next
    /// <see cref="StartOrAttach"/> on the same data directory starts it again on the same port.
    /// </summary>
    public void StopImmediately()
    {
        if (_stopped || !OwnsServer) return;
        _stopped = true;
        Run("pg_ctl", "-D", DataDirectory, "-m", "immediate", "-w", "-t", "60", "stop");
        _logger.LogInformation("Stopped PostgreSQL on 127.0.0.1:{Port} immediately", Port);
    }

    public void Dispose() => Stop();

    private void Run(string binary, params string[] args)
    {
        var exe = Path.Combine(_binDirectory, binary);
        if (_runAs is null) RunRaw(exe, args);
        else RunRaw("runuser", ["-u", _runAs, "--", exe, .. args]);
    }

    private static void RunRaw(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}");
        // pg_ctl start leaves the server holding our pipes open; read asynchronously so we never wait on them.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} timed out");
        }
        if (process.ExitCode != 0)
        {
            var err = stderr.Wait(TimeSpan.FromSeconds(2)) ? stderr.Result : "";
            var output = stdout.Wait(TimeSpan.FromSeconds(2)) ? stdout.Result : "";
            throw new InvalidOperationException(
                $"{Path.GetFileName(file)} {string.Join(' ', args)} failed with exit code {process.ExitCode}: {err}{output}".Trim());
        }
    }

    /// <summary>
    /// The port this cluster used last time when it is still free, so clients holding the old connection string (a
    /// Host that outlived a database restart) reconnect by themselves; otherwise a new free loopback port.
    /// </summary>
    private int PreferredPort()
    {
        var portFile = Path.Combine(DataDirectory, PortFileName);
        if (File.Exists(portFile) && int.TryParse(File.ReadAllText(portFile).Trim(), out var last) && IsFree(last)) return last;
        var port = FreeLoopbackPort();
        File.WriteAllText(portFile, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return port;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The folder holding initdb, pg_ctl and postgres.</summary>
    /// <exception cref="PostgresBinariesNotFoundException">None where <paramref name="options"/> says to look.</exception>
    public static string FindBinaries(EmbeddedPostgresOptions options) => LocateBinaries(options) ?? throw new PostgresBinariesNotFoundException();

    private static string? LocateBinaries(EmbeddedPostgresOptions options)
    {
        static bool HasBinaries(string dir) => IsFile(Path.Combine(dir, "initdb")) && IsFile(Path.Combine(dir, "pg_ctl")) && IsFile(Path.Combine(dir, "postgres"));

        // A symbolic link counts only if what it names is there (links left in /usr/local/bin by a removed package).
        static bool IsFile(string path) => File.Exists(path) && File.ResolveLinkTarget(path, returnFinalTarget: true) is not { Exists: false };

        if (options.BinDirectory is not null && HasBinaries(options.BinDirectory)) return options.BinDirectory;
        if (!options.SearchForBinaries) return null;

        var debian = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .OrderByDescending(d => d.Version).Select(d => d.Dir)
            : [];
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        return debian.Concat(path).FirstOrDefault(HasBinaries);
    }

    /// <summary>
    /// The service account must be able to reach the data folder. Below a root-only directory (e.g. a clone under
    /// /root) it cannot, so fall back to a folder under /var/tmp named after the requested path, and say so.
    /// </summary>
    private static string ResolveDataDirectory(string requested, string? runAs, ILogger logger)
    {
        if (runAs is null || AncestorsTraversableByOthers(requested)) return requested;
        var hash = Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(requested)))[..12].ToLowerInvariant();
        var fallback = Path.Combine("/var/tmp/matrix-rooms", hash, Path.GetFileName(requested));
        Directory.CreateDirectory(Path.GetDirectoryName(fallback)!);
        logger.LogWarning("The {Account} account cannot reach {Requested} (a parent directory is private); keeping PostgreSQL data in {Fallback} instead",
            runAs, requested, fallback);
        return fallback;
    }

    private static bool AncestorsTraversableByOthers(string path)
    {
        for (var dir = Path.GetDirectoryName(path); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if (!Directory.Exists(dir)) continue;
            if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(dir).HasFlag(UnixFileMode.OtherExecute)) return false;
        }
        return true;
    }

    private static FileStream AcquireStartLock(string dataDirectory)
    {
        var lockPath = dataDirectory.TrimEnd('/') + ".lock";
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed class PostgresBinariesNotFoundException() : Exception(
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found: install the Debian package 'postgresql' " +
    "(apt-get install postgresql), or set ConnectionStrings__Marten to use an existing server.");
