using System.Collections.Concurrent;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Infrastructure.Postgres;
using Npgsql;

namespace Matrix.Rooms.Host.Features.Sync;

/// <summary>
/// Long-poll wake-ups from the store: every session that appends room events queues a <c>pg_notify</c> in its own
/// transaction (PostgreSQL delivers it at commit, never for a rollback), naming the rooms (<c>r:{roomId}</c>) and
/// the users whose membership changed (<c>u:{userId}</c>); ephemeral writes do the same (<see cref="EphemeralStream"/>).
/// Each Host node holds one <c>LISTEN</c> connection (<see cref="SyncNotificationListener"/>) and wakes the waiting
/// <c>/sync</c> requests whose keys were named, so a send on one node wakes a sync waiting on another.
/// </summary>
public static class SyncNotify
{
    public const string Channel = "matrix_rooms_sync";

    /// <summary>Payload naming everything (NOTIFY payloads are limited to 8,000 bytes).</summary>
    public const string Everyone = "*";

    public static string RoomKey(string roomId) => "r:" + roomId;
    public static string UserKey(string userId) => "u:" + userId;

    public static string Payload(IEnumerable<string> keys)
    {
        var payload = string.Join('\n', keys.Distinct());
        return System.Text.Encoding.UTF8.GetByteCount(payload) > 7_900 ? Everyone : payload;
    }

    /// <summary>Queues the notification in <paramref name="session"/>: it runs in the session's transaction.</summary>
    public static void Queue(IDocumentOperations session, IEnumerable<string> keys) =>
        session.QueueSqlCommand("select pg_notify(?, ?)", Channel, Payload(keys));
}

/// <summary>The Marten half: a store-wide session listener that adds the notification to every save that appends room events.</summary>
public sealed class SyncNotifyingSessionListener : DocumentSessionListenerBase
{
    public override Task BeforeSaveChangesAsync(IDocumentSession session, CancellationToken token)
    {
        var keys = new List<string>();
        foreach (var stream in session.PendingChanges.Streams())
        {
            if (stream.Key is { } roomId) keys.Add(SyncNotify.RoomKey(roomId));
            foreach (var e in stream.Events)
                if (e.Data is MemberEvent { StateKey: { } userId }) keys.Add(SyncNotify.UserKey(userId));
        }
        if (keys.Count > 0) SyncNotify.Queue(session, keys);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The node's one <c>LISTEN</c> connection, fanning notifications out to waiting requests. Reconnects after a
/// failure and then wakes every waiter (a notification may have been missed meanwhile).
/// </summary>
public sealed class SyncNotificationListener(DatabaseConnection database, ILogger<SyncNotificationListener> logger,
    Infrastructure.Sharding.RoomShards? shards = null) : BackgroundService
{
    private readonly ConcurrentDictionary<SyncWaiter, byte> _waiters = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the first LISTEN is in force (tests wait for it before relying on a wake-up).</summary>
    public Task Listening => _listening.Task;

    /// <summary>Registers a waiter for <paramref name="keys"/>; register before checking for news, so nothing falls between.</summary>
    public SyncWaiter Subscribe(IReadOnlySet<string> keys)
    {
        var waiter = new SyncWaiter(keys, this);
        _waiters[waiter] = 0;
        return waiter;
    }

    internal void Remove(SyncWaiter waiter) => _waiters.TryRemove(waiter, out _);

    /// <summary>One LISTEN connection per database rooms live in (appends notify in their own database's transaction).</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (shards is not { IsSharded: true }) return ListenAsync(database.ConnectionString, stoppingToken, _listening);
        var each = shards.All.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToList();
        _ = Task.WhenAll(each.Select(t => t.Task)).ContinueWith(_ => _listening.TrySetResult(), TaskScheduler.Default);
        return Task.WhenAll(shards.All.Select(shard => ListenAsync(shard == 0 ? database.ConnectionString : shards.ExtraConnectionStrings[shard - 1],
            stoppingToken, each[shard])));
    }

    private async Task ListenAsync(string connectionString, CancellationToken stoppingToken, TaskCompletionSource listening)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, n) => Wake(n.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {SyncNotify.Channel}", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                listening.TrySetResult();
                WakeAll(); // anything committed while we were not listening
                delay = TimeSpan.FromMilliseconds(200);
                while (!stoppingToken.IsCancellationRequested) await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Sync notification connection lost; reconnecting in {Delay}", delay);
                WakeAll();
                try { await Task.Delay(delay, stoppingToken); }
                catch (OperationCanceledException) { return; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    private void Wake(string payload)
    {
        if (payload == SyncNotify.Everyone)
        {
            WakeAll();
            return;
        }
        var keys = payload.Split('\n');
        foreach (var waiter in _waiters.Keys)
            if (keys.Any(waiter.Keys.Contains))
                waiter.Wake();
    }

    private void WakeAll()
    {
        foreach (var waiter in _waiters.Keys) waiter.Wake();
    }
}

/// <summary>One waiting request: woken when a notification names one of its keys.</summary>
public sealed class SyncWaiter(IReadOnlySet<string> keys, SyncNotificationListener owner) : IDisposable
{
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlySet<string> Keys { get; } = keys;

    internal void Wake() => Volatile.Read(ref _signal).TrySetResult();

    /// <summary>Waits for a wake-up (or the timeout); the next call waits for the next one.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        var signal = Volatile.Read(ref _signal);
        try { await signal.Task.WaitAsync(timeout, ct); }
        catch (TimeoutException) { }
        if (signal.Task.IsCompleted) Interlocked.CompareExchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), signal);
    }

    public void Dispose() => owner.Remove(this);
}
