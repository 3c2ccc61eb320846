using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;

namespace Matrix.Rooms.Host.Infrastructure.Http;

/// <summary>
/// The 503 answers of the write path, each telling the client whether its request was applied (docs/api.md "Errors"):
/// a busy room or an exhausted concurrency retry stored nothing; a database that went away during the request leaves
/// the outcome unknown, because the connection may have died after PostgreSQL committed.
/// </summary>
public static class WriteErrors
{
    /// <summary>The hint for a retry after a busy room or a conflict: the writers ahead should be done by then.</summary>
    public static readonly TimeSpan BusyRetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>The hint for a retry after a database outage: the pool reconnects once PostgreSQL is back.</summary>
    public static readonly TimeSpan OutageRetryAfter = TimeSpan.FromSeconds(2);

    public static MatrixError RoomBusy(string roomId, TimeSpan waited) => WithRetryAfter(MatrixError.Unknown(503,
        $"Room {roomId} is busy: this request waited {waited.TotalSeconds:0.###} s behind the room's other writers and was not applied; retry it"),
        BusyRetryAfter);

    public static MatrixError Contended() => WithRetryAfter(MatrixError.Unknown(503,
        "Too many concurrent writers changed this room while the request was decided; it was not applied; retry it"), BusyRetryAfter);

    public static MatrixError OutcomeUnknown() => WithRetryAfter(MatrixError.Unknown(503,
        "The database became unavailable during this request, so whether it was applied is unknown. Retry it: a send retried " +
        "with the same transaction ID answers the event stored the first time, if any"), OutageRetryAfter);

    public static MatrixError DatabaseUnavailable() => WithRetryAfter(MatrixError.Unknown(503,
        "The database is unavailable; nothing was changed; try again shortly"), OutageRetryAfter);

    private static MatrixError WithRetryAfter(MatrixError error, TimeSpan after) =>
        error with { Extra = new Dictionary<string, JsonNode?> { ["retry_after_ms"] = (long)after.TotalMilliseconds } };
}
