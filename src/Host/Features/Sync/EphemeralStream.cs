using System.Text.Json.Nodes;
using Marten;
using Marten.Linq;
using Marten.Services.BatchQuerying;
using NodaTime;

namespace Matrix.Rooms.Host.Features.Sync;

/// <summary>
/// What <c>/sync</c> returns besides room events, one row per current value: account data (global or per room), a
/// room's typing notices, one receipt per (room, user, type, thread). <see cref="Position"/> is the ephemeral
/// stream's position of the last change, so "changed since token" is an index range.
/// </summary>
public sealed record EphemeralEntry
{
    public const string AccountData = "account_data";
    public const string Typing = "typing";
    public const string Receipt = "receipt";

    public required string Id { get; init; }
    public required string Kind { get; init; }

    /// <summary>Account data and receipts: the user; typing: empty.</summary>
    public string UserId { get; init; } = "";

    /// <summary>Per-room account data, typing and receipts: the room; global account data: empty.</summary>
    public string RoomId { get; init; } = "";

    /// <summary>The account data type or the receipt type.</summary>
    public string Type { get; init; } = "";
    public required JsonObject Content { get; init; }

    /// <summary>Receipts: the event read, and the thread (<c>main</c> or a thread root; empty for unthreaded).</summary>
    public string? EventId { get; init; }
    public string? ThreadId { get; init; }
    public long Position { get; init; }

    public static string AccountDataId(string userId, string roomId, string type) => $"a|{userId}|{roomId}|{type}";
    public static string TypingId(string roomId) => $"t|{roomId}";
    public static string ReceiptId(string roomId, string userId, string type, string threadId) => $"r|{roomId}|{userId}|{type}|{threadId}";
}

/// <summary>The ephemeral stream's head: the last position handed out.</summary>
public sealed record EphemeralHead
{
    public const string TheId = "ephemeral";
    public string Id { get; init; } = TheId;
    public long Position { get; init; }
}

/// <summary>
/// Writes to the ephemeral stream. Writers take one transaction-scoped advisory lock, so positions are handed out
/// and committed in one order: a reader that saw position p has seen everything at or below p (the property the
/// sync token needs). Ephemeral writes are one small row each, so queueing them costs little.
/// </summary>
public sealed class EphemeralStream(IDocumentStore store, IClock clock)
{
    private const long LockKey = 0x4d52_5359_4e43; // "MRSYNC"

    /// <summary>
    /// Runs <paramref name="change"/> (which returns the entries to store, given the next position) under the lock,
    /// with the wake-up for <paramref name="wakeKeys"/> in the same transaction.
    /// </summary>
    public async Task WriteAsync(Func<IDocumentSession, long, Task<IEnumerable<EphemeralEntry>>> change, IEnumerable<string> wakeKeys, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        await session.BeginTransactionAsync(ct);
        await session.AdvancedSql.QueryAsync<bool>("select true from (select pg_advisory_xact_lock(?)) as locked", ct, LockKey);
        var head = await session.LoadAsync<EphemeralHead>(EphemeralHead.TheId, ct) ?? new EphemeralHead();
        var position = head.Position + 1;
        var entries = (await change(session, position)).ToList();
        if (entries.Count == 0) return;
        session.Store(entries.Select(e => e with { Position = position }).ToArray());
        session.Store(head with { Position = position });
        SyncNotify.Queue(session, wakeKeys);
        await session.SaveChangesAsync(ct);
    }

    public Task SetAccountDataAsync(string userId, string roomId, string type, JsonObject content, CancellationToken ct) =>
        WriteAsync((_, _) => Task.FromResult<IEnumerable<EphemeralEntry>>(
        [
            new EphemeralEntry
            {
                Id = EphemeralEntry.AccountDataId(userId, roomId, type), Kind = EphemeralEntry.AccountData,
                UserId = userId, RoomId = roomId, Type = type, Content = content,
            },
        ]), [SyncNotify.UserKey(userId)], ct);

    public Task SetReceiptAsync(string roomId, string userId, string type, string eventId, string threadId, CancellationToken ct) =>
        WriteAsync((_, _) => Task.FromResult<IEnumerable<EphemeralEntry>>(
        [
            new EphemeralEntry
            {
                Id = EphemeralEntry.ReceiptId(roomId, userId, type, threadId), Kind = EphemeralEntry.Receipt,
                UserId = userId, RoomId = roomId, Type = type, EventId = eventId, ThreadId = threadId,
                Content = new JsonObject { ["ts"] = clock.GetCurrentInstant().ToUnixTimeMilliseconds() },
            },
        ]), [SyncNotify.RoomKey(roomId)], ct);

    /// <summary>
    /// Sets or clears <paramref name="userId"/>'s typing notice. The room's row holds every typer with their expiry
    /// (<c>{"users": {user: expiry ms}}</c>); expired typers are dropped when read and when the row is next written.
    /// </summary>
    public Task SetTypingAsync(string roomId, string userId, bool typing, TimeSpan timeout, CancellationToken ct) =>
        WriteAsync(async (session, _) =>
        {
            var now = clock.GetCurrentInstant();
            var current = await session.LoadAsync<EphemeralEntry>(EphemeralEntry.TypingId(roomId), ct);
            var users = CurrentTypers(current, now).ToDictionary(u => u.UserId, u => u.Until);
            var changed = typing ? true : users.ContainsKey(userId);
            if (typing) users[userId] = now.Plus(Duration.FromTimeSpan(timeout)).ToUnixTimeMilliseconds();
            else users.Remove(userId);
            if (!changed) return [];
            var content = new JsonObject();
            foreach (var (user, until) in users) content[user] = until;
            return [new EphemeralEntry { Id = EphemeralEntry.TypingId(roomId), Kind = EphemeralEntry.Typing, RoomId = roomId, Content = new JsonObject { ["users"] = content } }];
        }, [SyncNotify.RoomKey(roomId)], ct);

    public static IEnumerable<(string UserId, long Until)> CurrentTypers(EphemeralEntry? typing, Instant now) =>
        (typing?.Content["users"] as JsonObject ?? [])
            .Select(p => (p.Key, Until: p.Value is JsonValue v && v.TryGetValue<long>(out var until) ? until : 0))
            .Where(p => p.Until > now.ToUnixTimeMilliseconds());

    /// <summary>The head position (0 before the first write).</summary>
    public static async Task<long> HeadAsync(IQuerySession session, CancellationToken ct) =>
        (await session.LoadAsync<EphemeralHead>(EphemeralHead.TheId, ct))?.Position ?? 0;
}
