namespace Matrix.Rooms.Host.Infrastructure;

/// <summary>Host settings (section <c>MatrixRooms</c>). Every value has a safe default.</summary>
public sealed class MatrixRoomsOptions
{
    public const string Section = "MatrixRooms";

    /// <summary>The server name: the part after ':' in this server's user and room IDs.</summary>
    public string ServerName { get; set; } = "localhost";

    /// <summary>
    /// The room version <c>createRoom</c> uses when the client names none, and <c>/capabilities</c> advertises as the
    /// default (one of the versions the engine implements; checked at start-up).
    /// </summary>
    public string DefaultRoomVersion { get; set; } = Domain.Authorization.RoomVersion.Default.Id;

    /// <summary>The URL clients reach this server at, for <c>/.well-known/matrix/client</c>; unset: the address of the request.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Where the Host keeps its files (embedded PostgreSQL cluster, mail drop, keys). Relative to the repository root.</summary>
    public string DataDirectory { get; set; } = ".data";

    /// <summary>PBKDF2-HMAC-SHA256 iterations for new password hashes (OWASP 2023 recommends 600,000).</summary>
    public int PasswordHashIterations { get; set; } = 600_000;

    /// <summary>Allow <c>POST /register?kind=guest</c>.</summary>
    public bool AllowGuestRegistration { get; set; } = true;

    /// <summary>Guest registrations allowed per client address per minute.</summary>
    public int GuestRegistrationsPerMinute { get; set; } = 20;

    /// <summary>Rate limits on register, login, send and invite, and the bound on password hashing (README "Configuration").</summary>
    public RateLimitsOptions RateLimits { get; set; } = new();

    /// <summary>
    /// How long a room command waits behind the room's other writers (they queue on the room's lock) before it is
    /// answered <c>503</c> with <c>retry_after_ms</c>, nothing stored.
    /// </summary>
    public double RoomWriteQueueSeconds { get; set; } = 10;

    public TimeSpan RoomWriteQueue => TimeSpan.FromSeconds(RoomWriteQueueSeconds);

    /// <summary>Extra PostgreSQL server settings for the embedded cluster (name → value).</summary>
    public Dictionary<string, string> EmbeddedPostgresSettings { get; set; } = new();

    /// <summary>Where the embedded cluster's initdb, pg_ctl and postgres are; when set, only there (else the Debian folders and PATH).</summary>
    public string? PostgresBinDirectory { get; set; }

    /// <summary>The embedded identity server, trusted external ones, and the third-party invite rate limit (docs/third-party-invites.md).</summary>
    public Features.ThirdPartyInvites.IdentityServerClients.IdentityServerClientOptions IdentityServer { get; set; } = new();

    /// <summary>Resolves <see cref="DataDirectory"/>: absolute as given, else under the repository root (the folder holding
    /// Matrix.Rooms.sln, found from the working directory upwards), else under the working directory.</summary>
    public string ResolveDataDirectory()
    {
        if (Path.IsPathRooted(DataDirectory)) return DataDirectory;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Matrix.Rooms.sln")))
                return Path.Combine(dir.FullName, DataDirectory);
        return Path.GetFullPath(DataDirectory);
    }
}
