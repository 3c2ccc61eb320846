using System.Globalization;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Reading;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Host.Infrastructure.Sharding;
using NodaTime;

namespace Matrix.Rooms.Host.Features.Sync;

/// <summary>
/// A sharded server's <c>/sync</c> position: <c>e{shard 0}.{shard 1}…_{ephemeral}</c>, one position in each shard's
/// event sequence (each database has its own <c>mt_events.seq_id</c>) and the ephemeral stream's (main database). With
/// one shard the server issues the plain <see cref="SyncToken"/> (<c>e{events}_{ephemeral}</c>) and never this.
/// </summary>
public sealed record ShardedSyncToken(long[] Events, long Ephemeral)
{
    public override string ToString() =>
        "e" + string.Join('.', Events.Select(e => e.ToString(CultureInfo.InvariantCulture))) + "_" + Ephemeral.ToString(CultureInfo.InvariantCulture);

    public SyncToken Shard(int shard) => new(Events[shard], Ephemeral);

    public bool SameAs(ShardedSyncToken other) => Ephemeral == other.Ephemeral && Events.SequenceEqual(other.Events);

    /// <summary>The token, or null when absent; one with another number of shards (or not ours) is <c>400 M_INVALID_PARAM</c>.</summary>
    public static ShardedSyncToken? Parse(string? text, int shards)
    {
        if (string.IsNullOrEmpty(text)) return null;
        var underscore = text.IndexOf('_');
        if (text.Length > 3 && text[0] == 'e' && underscore > 1
            && long.TryParse(text.AsSpan(underscore + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ephemeral))
        {
            var parts = text[1..underscore].Split('.');
            var events = new long[parts.Length];
            var ok = parts.Length == shards;
            for (var i = 0; ok && i < parts.Length; i++)
                ok = long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out events[i]);
            if (ok) return new ShardedSyncToken(events, ephemeral);
        }
        throw new MatrixException(SyncToken.Invalid(text));
    }
}

/// <summary>
/// <c>/sync</c> over several shards: one <see cref="SyncBuilder"/> per shard (its rooms, memberships and events from that
/// database; typing, receipts and account data from the main one), answers merged room by room (a room lives in one
/// shard, so the sections never overlap), the long-poll waiting on every shard's notifications
/// (<see cref="SyncNotificationListener"/> listens on each database).
/// </summary>
public static class ShardedSync
{
    private static readonly string[] Sections = ["join", "invite", "knock", "leave"];

    public static async Task<IResult> SyncAsync(HttpContext http, Caller caller, RoomSessions rooms, SyncFilter filter, string? sinceText, bool fullState,
        TimeSpan timeout, SyncNotificationListener notifications, IClock clock, CancellationToken ct)
    {
        var count = rooms.Shards.Count;
        var since = ShardedSyncToken.Parse(sinceText, count);
        var builders = rooms.All.Select(s => new SyncBuilder(s, new RoomReader(s), clock) { EphemeralSession = rooms.Main }).ToList();

        var now = await CurrentAsync(builders, ct);
        if (since is not null)
        {
            if (since.Ephemeral > now.Ephemeral) throw new MatrixException(SyncToken.Invalid(sinceText!));
            for (var i = 0; i < count; i++)
                if (since.Events[i] > now.Events[i] && since.Events[i] > await builders[i].MaxSequenceAsync(ct))
                    throw new MatrixException(SyncToken.Invalid(sinceText!));
            now = Ahead(now, since); // never answer a position behind the client's own
        }

        var deadline = DateTime.UtcNow + timeout;
        var response = await BuildAsync(builders, caller, filter, since, fullState, now, ct);
        if (since is null || fullState || response.HasNews || timeout <= TimeSpan.Zero) return MatrixHttp.Ok(response.Body);

        using var waiter = notifications.Subscribe(response.WakeKeys);
        while (true)
        {
            var next = Ahead(await CurrentAsync(builders, ct), now);
            if (!next.SameAs(now))
            {
                response = await BuildAsync(builders, caller, filter, since, fullState, next, ct);
                now = next;
                if (response.HasNews) break;
                if (!response.WakeKeys.SetEquals(waiter.Keys)) return MatrixHttp.Ok(response.Body);
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) break;
            await waiter.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1), ct);
        }
        return MatrixHttp.Ok(response.Body);
    }

    private static ShardedSyncToken Ahead(ShardedSyncToken a, ShardedSyncToken b) =>
        new(a.Events.Zip(b.Events, Math.Max).ToArray(), Math.Max(a.Ephemeral, b.Ephemeral));

    private static async Task<ShardedSyncToken> CurrentAsync(IReadOnlyList<SyncBuilder> builders, CancellationToken ct)
    {
        var events = new long[builders.Count];
        long ephemeral = 0;
        for (var i = 0; i < builders.Count; i++)
        {
            var current = await builders[i].CurrentAsync(ct);
            events[i] = current.Events;
            if (i == 0) ephemeral = current.Ephemeral;
        }
        return new ShardedSyncToken(events, ephemeral);
    }

    /// <summary>Each shard's answer (sequentially: each builder has its own session), merged into the first.</summary>
    private static async Task<SyncResponse> BuildAsync(IReadOnlyList<SyncBuilder> builders, Caller caller, SyncFilter filter, ShardedSyncToken? since,
        bool fullState, ShardedSyncToken now, CancellationToken ct)
    {
        JsonObject? body = null;
        var hasNews = false;
        var wakeKeys = new HashSet<string>();
        for (var i = 0; i < builders.Count; i++)
        {
            var part = await builders[i].BuildAsync(caller, filter, since?.Shard(i), fullState, now.Shard(i), ct);
            hasNews |= part.HasNews;
            wakeKeys.UnionWith(part.WakeKeys);
            if (body is null)
            {
                body = part.Body;
                continue;
            }
            foreach (var section in Sections)
            {
                var into = (JsonObject)body["rooms"]![section]!;
                var from = (JsonObject)part.Body["rooms"]![section]!;
                foreach (var (roomId, room) in from.ToList())
                {
                    from.Remove(roomId);
                    into[roomId] = room;
                }
            }
        }
        body!["next_batch"] = now.ToString();
        return new SyncResponse(body, hasNews, wakeKeys);
    }
}
