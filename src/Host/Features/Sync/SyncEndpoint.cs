using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure.Http;

namespace Matrix.Rooms.Host.Features.Sync;

/// <summary><c>GET /sync</c>: initial and incremental sync, long-polling on the store's notifications.</summary>
public static class SyncEndpoint
{
    /// <summary>The longest a request is held (a client asking for more gets this).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(2);

    /// <summary>How often a waiting request looks again without a notification: the safety net for a missed one or a settling gap.</summary>
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(1);

    private static readonly string[] Presences = ["offline", "online", "unavailable"];

    public static void MapSync(this IEndpointRouteBuilder api)
    {
        api.MapGet("/sync", Sync).For(ClientEndpoint.Sync);
        api.MapSyncInputs();
    }

    private static async Task<IResult> Sync(HttpContext http, Caller caller, SyncBuilder builder, IQuerySession session,
        SyncNotificationListener notifications, Infrastructure.Sharding.RoomSessions rooms, CancellationToken ct)
    {
        var query = http.Request.Query;
        var since = rooms.Shards.IsSharded ? null : SyncToken.Parse(query["since"].ToString());
        var fullState = query["full_state"].ToString() switch
        {
            "" or "false" => false,
            "true" => true,
            var v => throw new MatrixException(MatrixError.InvalidParam($"full_state must be true or false, not '{v}'")),
        };
        if (query["set_presence"].ToString() is { Length: > 0 } presence && !Presences.Contains(presence))
            throw new MatrixException(MatrixError.InvalidParam($"set_presence must be one of {string.Join(", ", Presences)}"));
        var timeout = query["timeout"].ToString() is { Length: > 0 } t
            ? long.TryParse(t, System.Globalization.NumberStyles.None, null, out var ms)
                ? TimeSpan.FromMilliseconds(Math.Min(ms, (long)MaxTimeout.TotalMilliseconds))
                : throw new MatrixException(MatrixError.InvalidParam("timeout must be a non-negative number of milliseconds"))
            : TimeSpan.Zero;
        var filter = await FilterAsync(query["filter"].ToString(), caller, session, ct);
        if (rooms.Shards.IsSharded) // rooms over several databases: one position per shard (docs/scale-out.md)
            return await ShardedSync.SyncAsync(http, caller, rooms, filter, query["since"].ToString(), fullState, timeout, notifications,
                http.RequestServices.GetRequiredService<NodaTime.IClock>(), ct);

        var now = await builder.CurrentAsync(ct);
        if (since is { } s)
        {
            if (s.Ephemeral > now.Ephemeral || (s.Events > now.Events && s.Events > await builder.MaxSequenceAsync(ct)))
                throw new MatrixException(SyncToken.Invalid(query["since"].ToString()));
            // Never answer a position behind the client's own.
            now = new SyncToken(Math.Max(now.Events, s.Events), now.Ephemeral);
        }

        var deadline = DateTime.UtcNow + timeout;
        var response = await builder.BuildAsync(caller, filter, since, fullState, now, ct);
        if (since is null || fullState || response.HasNews || timeout <= TimeSpan.Zero) return MatrixHttp.Ok(response.Body);

        using var waiter = notifications.Subscribe(response.WakeKeys);
        while (true)
        {
            // Checked after subscribing, so nothing committed between the first answer and the subscription is missed.
            var next = await builder.CurrentAsync(ct);
            next = new SyncToken(Math.Max(next.Events, now.Events), Math.Max(next.Ephemeral, now.Ephemeral));
            if (next != now)
            {
                response = await builder.BuildAsync(caller, filter, since, fullState, next, ct);
                now = next;
                if (response.HasNews) break;
                if (!response.WakeKeys.SetEquals(waiter.Keys)) return MatrixHttp.Ok(response.Body); // the user's rooms changed: let the client come back
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) break;
            await waiter.WaitAsync(left < Recheck ? left : Recheck, ct);
        }
        return MatrixHttp.Ok(response.Body);
    }

    private static async Task<SyncFilter> FilterAsync(string filter, Caller caller, IQuerySession session, CancellationToken ct)
    {
        if (filter.Length == 0) return SyncFilter.Default;
        if (filter[0] == '{') return SyncFilter.Parse(SyncFilter.ParseInline(filter));
        var stored = Domain.Events.JsonInputPolicy.StringProblem(filter, "filter") is null
            ? await session.LoadAsync<StoredFilter>(StoredFilter.IdFor(caller.UserId, filter), ct)
            : null;
        return stored is null
            ? throw new MatrixException(MatrixError.InvalidParam($"No filter with ID '{(filter.Length > 64 ? filter[..64] : filter)}' for {caller.UserId}"))
            : SyncFilter.Parse(stored.Definition);
    }
}

/// <summary>The sync slice's wiring: its documents and indexes, the notification hook and listener, the builders.</summary>
public static class SyncRegistration
{
    public static WebApplicationBuilder AddMatrixSync(this WebApplicationBuilder builder)
    {
        builder.Services.ConfigureMarten(options =>
        {
            options.Schema.For<EphemeralEntry>().Index(x => x.Position).Index(x => x.UserId).Index(x => x.RoomId);
            options.Schema.For<EphemeralHead>();
            options.Schema.For<StoredFilter>().Index(x => x.UserId);
            options.Listeners.Add(new SyncNotifyingSessionListener());
        });
        builder.Services.AddScoped<SyncBuilder>();
        builder.Services.AddSingleton<EphemeralStream>();
        builder.Services.AddSingleton<SyncNotificationListener>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SyncNotificationListener>());
        return builder;
    }
}
