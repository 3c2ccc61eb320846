namespace Matrix.Rooms.Postgres;

/// <summary>Settings for the private PostgreSQL cluster used when no connection string is configured.</summary>
public sealed record EmbeddedPostgresOptions
{
    /// <summary>Where the cluster lives. Default: <c>.data/postgres</c> under the repository (or working) directory.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>A folder holding initdb and pg_ctl. When null, <c>/usr/lib/postgresql/*/bin</c> and PATH are searched.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>Search <c>/usr/lib/postgresql/*/bin</c> and PATH when <see cref="BinDirectory"/> is null or lacks the binaries.</summary>
    public bool SearchForBinaries { get; init; } = true;

    /// <summary>The database the engine uses (created when missing).</summary>
    public string Database { get; init; } = "matrix_rooms";

    /// <summary>Extra <c>-c name=value</c> server settings (tests turn fsync off; production leaves durability alone).</summary>
    public IReadOnlyDictionary<string, string> ServerSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>The OS account that runs the server when this process is root (PostgreSQL refuses to run as root).</summary>
    public string ServiceAccount { get; init; } = "postgres";
}
