using Wolverine;

namespace Matrix.Rooms.Host.Infrastructure;

/// <summary>
/// How this node takes part in a cluster of Host nodes on one PostgreSQL database (section <c>MatrixRooms:Cluster</c>,
/// docs/scale-out.md). The defaults are safe for any number of nodes: Wolverine's <see cref="DurabilityMode.Balanced"/>
/// mode, which registers the node in the database, elects a leader there and spreads Wolverine's agents (the durability
/// agent that recovers a dead node's inbox and outbox, and any asynchronous Marten projection or subscription) over the
/// live nodes.
/// </summary>
public sealed class ClusterOptions
{
    public const string Section = MatrixRoomsOptions.Section + ":Cluster";

    /// <summary>
    /// <c>Balanced</c> (default; any number of nodes) or <c>Solo</c> (one node only: starts every agent at once, without
    /// leader election; two Solo nodes on one database would both run them).
    /// </summary>
    public string Mode { get; set; } = nameof(DurabilityMode.Balanced);

    /// <summary>Seconds between the node's heartbeats (Wolverine's <c>HealthCheckPollingTime</c>; unset: Wolverine's 10 s).</summary>
    public double? HealthCheckSeconds { get; set; }

    /// <summary>
    /// Seconds without a heartbeat after which the other nodes count a node as dead, remove it from the node table and
    /// take over its agents and its persisted messages (Wolverine's <c>StaleNodeTimeout</c>; unset: Wolverine's 60 s).
    /// </summary>
    public double? StaleNodeTimeoutSeconds { get; set; }

    /// <summary>Seconds between the leader's full checks that every agent runs where assigned (unset: Wolverine's 30 s).</summary>
    public double? CheckAssignmentSeconds { get; set; }

    public DurabilityMode DurabilityMode => Enum.TryParse<DurabilityMode>(Mode, ignoreCase: true, out var mode) && mode is DurabilityMode.Balanced or DurabilityMode.Solo
        ? mode
        : throw new InvalidOperationException($"{Section}:Mode must be Balanced or Solo, not '{Mode}'");

    /// <summary>Applies the settings to Wolverine's durability settings.</summary>
    public void ApplyTo(DurabilitySettings durability)
    {
        durability.Mode = DurabilityMode;
        if (HealthCheckSeconds is double health && health > 0) durability.HealthCheckPollingTime = TimeSpan.FromSeconds(health);
        if (StaleNodeTimeoutSeconds is double stale && stale > 0) durability.StaleNodeTimeout = TimeSpan.FromSeconds(stale);
        if (CheckAssignmentSeconds is double check && check > 0) durability.CheckAssignmentPeriod = TimeSpan.FromSeconds(check);
    }
}
