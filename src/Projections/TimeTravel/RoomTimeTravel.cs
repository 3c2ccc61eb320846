using System.Globalization;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Identifiers;
using NodaTime;
using NodaTime.Text;

namespace Matrix.Rooms.Projections.TimeTravel;

/// <summary>Where in a room's history to look: its latest state, after its N-th event, or as stored at an instant.</summary>
public abstract record RoomPoint
{
    public static RoomPoint Latest { get; } = new LatestPoint();

    public sealed record LatestPoint : RoomPoint
    {
        public override string ToString() => "latest";
    }

    /// <summary>After the event with this stream version (1 = the m.room.create event).</summary>
    public sealed record AtVersion(long Version) : RoomPoint
    {
        public override string ToString() => $"version {Version}";
    }

    /// <summary>After every event the store had recorded at this instant (mt_events.timestamp &lt;= instant).</summary>
    public sealed record AtInstant(Instant Instant) : RoomPoint
    {
        public override string ToString() => $"instant {InstantPattern.ExtendedIso.Format(Instant)}";
    }

    /// <summary>
    /// Reads the two ways a caller names a point: <paramref name="atVersion"/> (a positive integer) or
    /// <paramref name="at"/> (an ISO-8601 instant such as <c>2026-05-01T12:00:00Z</c>, or Unix milliseconds); at most one.
    /// </summary>
    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    public static Result<RoomPoint> Parse(string? atVersion, string? at)
    {
        if (!string.IsNullOrEmpty(atVersion) && !string.IsNullOrEmpty(at))
            return MatrixError.InvalidParam("Give either a version or an instant, not both");
        if (!string.IsNullOrEmpty(atVersion))
            return long.TryParse(atVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 1
                ? new AtVersion(v)
                : MatrixError.InvalidParam($"The version must be a whole number from 1 (the room's first event), not '{atVersion}'");
        if (!string.IsNullOrEmpty(at))
        {
            Instant? instant = InstantPattern.ExtendedIso.Parse(at) is { Success: true } iso ? iso.Value
                : DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto) ? Instant.FromDateTimeOffset(dto)
                : long.TryParse(at, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms <= MaxUnixMilliseconds ? Instant.FromUnixTimeMilliseconds(ms)
                : null;
            // The store's timestamps are DateTimeOffsets: an instant outside their range names no point in any room.
            if (instant is { } i && i >= Instant.FromDateTimeOffset(DateTimeOffset.MinValue) && i.ToUnixTimeMilliseconds() <= MaxUnixMilliseconds)
                return new AtInstant(i);
            return MatrixError.InvalidParam($"'{at}' is not an instant: use ISO-8601 (e.g. 2026-05-01T12:00:00Z) or Unix milliseconds " +
                                            "between the years 1 and 9999");
        }
        return Latest;
    }
}

/// <summary>
/// Time travel: a room's state at a past version or instant, folded from its event stream by Marten live aggregation
/// (<see cref="RoomSnapshotProjection"/>). Reads the events up to that point and nothing else; no projection is involved,
/// so the answer does not depend on any read model being current.
/// </summary>
public sealed class RoomTimeTravel(IDocumentStore store, string? tenantId = null)
{
    public async Task<Result<RoomStateSummary>> StateAtAsync(string roomId, RoomPoint point, CancellationToken ct = default)
    {
        if (!RoomId.IsValid(roomId)) return MatrixError.InvalidParam($"Not a valid room ID: {roomId}");
        // tenantId: the database of a room sharded over several (Marten tenant per database); null: the store's default.
        await using var session = tenantId is null ? store.QuerySession() : store.QuerySession(tenantId);
        var stream = await session.Events.FetchStreamStateAsync(roomId, ct);
        if (stream is null) return MatrixError.NotFound($"Unknown room {roomId}");

        RoomSnapshot? snapshot;
        switch (point)
        {
            case RoomPoint.AtVersion { Version: var version }:
                if (version > stream.Version)
                    return MatrixError.InvalidParam($"Room {roomId} has {stream.Version} events; there is no version {version}");
                snapshot = await session.Events.AggregateStreamAsync<RoomSnapshot>(roomId, version: version, token: ct);
                break;
            case RoomPoint.AtInstant { Instant: var instant }:
                snapshot = await session.Events.AggregateStreamAsync<RoomSnapshot>(roomId, timestamp: instant.ToDateTimeOffset(), token: ct);
                if (snapshot is null)
                    return MatrixError.NotFound(
                        $"Room {roomId} did not exist yet at {InstantPattern.ExtendedIso.Format(instant)}: its first event was stored at " +
                        InstantPattern.ExtendedIso.Format(Instant.FromDateTimeOffset(stream.Created)));
                break;
            default:
                snapshot = await session.Events.AggregateStreamAsync<RoomSnapshot>(roomId, token: ct);
                break;
        }
        return snapshot is null
            ? MatrixError.NotFound($"Unknown room {roomId}")
            : RoomStateSummary.From(snapshot);
    }
}
