using System.Data.Common;
using Marten;
using Marten.Linq.QueryHandlers;
using Marten.Services.BatchQuerying;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Projections.Documents;
using Microsoft.Extensions.Options;
using NodaTime;
using Npgsql;
using Weasel.Postgresql;
using Weasel.Storage;

namespace Matrix.Rooms.Host.Features.Rooms;

/// <summary>What a room writer loaded under the room's lock: the head, the state entries the rules need, and the earlier
/// outcome of the same transaction (a retransmission), if any.</summary>
public sealed record RoomWriteState(RoomHead? Head, DictionaryAuthState State, SentTransaction? Earlier);

/// <summary>
/// One room command's write, as <see cref="RoomWriteMiddleware"/> loaded it under the room's lock: the command, the event
/// it drafts, and what the rules need to decide it.
/// </summary>
public sealed record RoomWrite(RoomCommand Command, MatrixEvent Draft, RoomWriteState Loaded)
{
    /// <summary>The server's signature for the appended events (<see cref="RoomWriter.Append"/>).</summary>
    public required ServerSignature Signer { get; init; }
}

/// <summary>
/// Wolverine middleware of the room-writing handlers (those of a <see cref="WritesToRoomAttribute"/> class; attached by
/// <see cref="RoomWritePolicy"/>): before the
/// handler runs, draft the event, take the room's lock and load only the state entries the rules need — one round trip —
/// and hand the handler a <see cref="RoomWrite"/>. The handler then decides (pure, in the Domain) and appends.
/// </summary>
public static class RoomWriteMiddleware
{
    public static Task<RoomWrite> LoadAsync(RoomCommand command, IDocumentSession session, IClock clock, IOptions<MatrixRoomsOptions> options,
        ServerSignature signer, CancellationToken ct) => RoomWriter.LoadAsync(command, session, clock, options.Value.RoomWriteQueue, signer, ct);
}

/// <summary>
/// The write path every room command shares: draft the event, take the room's lock and load only the state entries the
/// rules need (one round trip, <see cref="RoomWriteMiddleware"/>), decide, and append with the stream version read under
/// the lock. Writers of one room therefore queue in PostgreSQL and each decides on the state its predecessor left — none
/// is refused for losing a race. The lock is waited for at most <see cref="MatrixRoomsOptions.RoomWriteQueueSeconds"/>;
/// past that the command fails with 503 and <c>retry_after_ms</c>, having stored nothing. The expected-version check of
/// the append stays as the guard against writers that do not take the lock (tools writing the store directly); Wolverine
/// retries those conflicts (<see cref="RoomWritePolicy"/>).
/// </summary>
public static class RoomWriter
{
    /// <summary>The middleware's step: draft, then lock and load (for a send, with its transaction key:
    /// <see cref="SentTransaction.KeyFor"/>).</summary>
    public static async Task<RoomWrite> LoadAsync(RoomCommand command, IDocumentSession session, IClock clock, TimeSpan queueTimeout,
        ServerSignature signer, CancellationToken ct)
    {
        var draft = RoomDecider.Draft(command, clock.GetCurrentInstant());
        var transactionId = (command as SendRoomEvent)?.TransactionId;
        var loaded = await LoadForWriteAsync(session, command.RoomId, RoomDecider.StateNeeded(command, draft), queueTimeout, ct, transactionId);
        return new RoomWrite(command, draft, loaded) { Signer = signer };
    }

    /// <summary>
    /// The handler's step: a retransmission answers the event the first request stored; otherwise the Domain decides
    /// and an allowed event is appended (with the guest-access withdrawals it causes). A send stores its transaction key
    /// in the append's transaction.
    /// </summary>
    public static async Task<RoomCommandResult> DecideAndAppendAsync(RoomWrite write, IDocumentSession session, IClock clock,
        MatrixRoomsMetrics metrics, CancellationToken ct)
    {
        var (command, draft, (head, state, earlier)) = write;
        if (earlier is not null) return new RoomCommandResult(command.RoomId, earlier.EventId, null);
        if (head is null) return new RoomCommandResult(command.RoomId, null, MatrixError.NotFound($"Unknown room {command.RoomId}"));

        var decided = RoomDecider.Decide(command, draft, state, head.LastEventId);
        metrics.RoomCommandDecided(command, decided.Error);
        if (!decided.IsSuccess) return new RoomCommandResult(command.RoomId, null, decided.Error);
        var appended = new List<MatrixEvent> { decided.Value };
        var authState = state;

        if (decided.Value is GuestAccessEvent guestAccess)
        {
            var version = RoomVersion.Get(((CreateEvent)state.Get(EventAuth.CreateKey)!).RoomVersion)!;
            var leaves = await GuestAccessWithdrawalStep.EventsAfterAsync(session, guestAccess, state, version, clock.GetCurrentInstant(), ct);
            if (!leaves.IsSuccess) return new RoomCommandResult(command.RoomId, null, leaves.Error);
            appended.AddRange(leaves.Value.Leaves);
            authState = leaves.Value.StateBefore;
        }

        var stored = Append(session, head, appended, authState, write.Signer);
        if (!stored.IsSuccess) return new RoomCommandResult(command.RoomId, null, stored.Error);
        // The event's final ID (from v3 its reference hash, known only once it is a PDU). Same transaction as the
        // append: the event and the record of its transaction are stored together or not at all.
        var eventId = stored.Value[0].EventId;
        if (command is SendRoomEvent { TransactionId: { } transactionId })
            session.Insert(SentTransaction.For(transactionId, eventId));
        return new RoomCommandResult(command.RoomId, eventId, null);
    }

    /// <summary>Load and decide in one call, without Wolverine (the benchmark's breakdown); the caller saves the session.</summary>
    public static async Task<RoomCommandResult> DecideAndAppendAsync(RoomCommand command, IDocumentSession session, IClock clock,
        TimeSpan queueTimeout, ServerSignature signer, MatrixRoomsMetrics metrics, CancellationToken ct) =>
        await DecideAndAppendAsync(await LoadAsync(command, session, clock, queueTimeout, signer, ct), session, clock, metrics, ct);

    /// <summary>
    /// Appends after the head read under the lock, as PDUs of the room's version (<see cref="PduChain.Seal"/>: auth
    /// events from <paramref name="stateBefore"/>, depth after the head's, content hash, the server's signature, from v3
    /// the reference-hash event ID) — the stored events, with their final IDs, are returned for the caller to record.
    /// An event the PDU fields push past the size limit is refused, nothing appended. Marten's expected version is the
    /// stream's version after the append, so the check fails — and Wolverine retries — if anything was appended since
    /// that read.
    /// </summary>
    public static Result<IReadOnlyList<MatrixEvent>> Append(IDocumentSession session, RoomHead head, IReadOnlyList<MatrixEvent> events,
        DictionaryAuthState stateBefore, ServerSignature signer)
    {
        var version = RoomVersion.Get((stateBefore.Get(EventAuth.CreateKey) as CreateEvent)?.RoomVersion ?? "")
                      ?? throw new InvalidOperationException($"Room {head.Id}: the state loaded for a write has no m.room.create of a known version");
        var sealedEvents = PduChain.Seal(events, stateBefore, version, head.LastDepth, signer, head.LastReferenceHash);
        foreach (var ev in sealedEvents)
            if (EventLimits.Check(ev) is { } tooLarge) return tooLarge;
        session.Events.Append(head.Id, head.StreamVersion + sealedEvents.Count, sealedEvents.ToArray<object>());
        return Result<IReadOnlyList<MatrixEvent>>.Ok(sealedEvents);
    }

    /// <summary>
    /// Opens the session's transaction, takes the room's lock and loads the head, the state entries for
    /// <paramref name="keys"/> and (for a send) the earlier transaction — one round trip. The lock is a
    /// transaction-scoped PostgreSQL advisory lock on the room ID, held until the session commits or rolls back; the
    /// loads after it in the batch run after it is granted, so they see what the previous writer committed (READ
    /// COMMITTED takes a snapshot per statement). Commands on different rooms never wait for each other.
    /// </summary>
    /// <exception cref="MatrixException">503 with <c>retry_after_ms</c> when the lock is not granted within
    /// <paramref name="queueTimeout"/>; nothing is stored.</exception>
    public static async Task<RoomWriteState> LoadForWriteAsync(IDocumentSession session, string roomId, IEnumerable<StateKey> keys,
        TimeSpan queueTimeout, CancellationToken ct, string? transactionId = null, Action<IBatchedQuery>? alsoLoad = null)
    {
        // An invalid room ID (e.g. holding NUL, which PostgreSQL cannot take as a parameter) names no room.
        if (!Domain.Identifiers.RoomId.IsValid(roomId)) return new RoomWriteState(null, DictionaryAuthState.Empty, null);
        await session.BeginTransactionAsync(ct);
        var batch = session.CreateBatchQuery();
        var locked = batch.AddItem(new RoomLock(roomId, queueTimeout));
        var head = batch.Load<RoomHead>(roomId);
        var entries = batch.LoadMany<RoomStateEntry>().ById(StateIds(roomId, keys));
        var earlier = transactionId is null ? Task.FromResult<SentTransaction?>(null) : batch.Load<SentTransaction>(transactionId)!;
        alsoLoad?.Invoke(batch);
        try
        {
            await batch.Execute(ct);
            await locked;
        }
        catch (Exception e) when (RoomLock.TimedOut(e))
        {
            throw new MatrixException(WriteErrors.RoomBusy(roomId, queueTimeout));
        }
        return new RoomWriteState(await head, DictionaryAuthState.FromEvents((await entries).Select(e => e.Event)), await earlier);
    }

    /// <summary>
    /// Loads the room's head and the current state entries for <paramref name="keys"/> in one round trip — a handful
    /// of rows whatever the room's size. No lock: for checks that append nothing themselves.
    /// </summary>
    public static async Task<(RoomHead? Head, DictionaryAuthState State)> LoadAsync(IQuerySession session, string roomId,
        IEnumerable<StateKey> keys, CancellationToken ct)
    {
        if (!Domain.Identifiers.RoomId.IsValid(roomId)) return (null, DictionaryAuthState.Empty);
        var batch = session.CreateBatchQuery();
        var head = batch.Load<RoomHead>(roomId);
        var entries = batch.LoadMany<RoomStateEntry>().ById(StateIds(roomId, keys));
        await batch.Execute(ct);
        return (await head, DictionaryAuthState.FromEvents((await entries).Select(e => e.Event)));
    }

    /// <summary>
    /// The state entries to load. What PostgreSQL cannot hold (NUL or a lone surrogate in a key; an invalid room ID,
    /// refused by the callers) names nothing stored, and sending it would fail the query: such a key is absent, and the
    /// decider then refuses the event under the input policy.
    /// </summary>
    private static string[] StateIds(string roomId, IEnumerable<StateKey> keys) =>
        keys.Where(k => JsonInputPolicy.StringProblem(k.Type, "type") is null && JsonInputPolicy.StringProblem(k.Key, "state_key") is null)
            .Select(k => RoomStateEntry.IdFor(roomId, k)).Distinct().ToArray();

    /// <summary>
    /// <c>pg_advisory_xact_lock</c> on the room as the first statement of a Marten batch, so taking the lock costs no
    /// round trip of its own. <c>lock_timeout</c> (local to the transaction, set in the FROM clause so it is in force
    /// before the lock is requested) bounds the wait: PostgreSQL answers <c>55P03 lock_not_available</c>.
    /// </summary>
    private sealed class RoomLock(string roomId, TimeSpan timeout) : IQueryHandler<bool>
    {
        public void ConfigureCommand(ICommandBuilder builder, IStorageSession session)
        {
            builder.Append("select pg_advisory_xact_lock(hashtextextended(");
            builder.AppendParameter(roomId);
            builder.Append(", 0)) from (select set_config('lock_timeout', ");
            builder.AppendParameter($"{Math.Max(1, (long)timeout.TotalMilliseconds)}ms");
            builder.Append(", true)) as bounded");
        }

        public async Task<bool> HandleAsync(DbDataReader reader, IStorageSession session, CancellationToken token) =>
            await reader.ReadAsync(token);

        public Task<int> StreamJson(Stream stream, DbDataReader reader, CancellationToken token) =>
            throw new NotSupportedException("The room lock returns no JSON");

        public static bool TimedOut(Exception? e) => e switch
        {
            null => false,
            PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable } => true,
            AggregateException all => all.InnerExceptions.Any(TimedOut),
            _ => TimedOut(e.InnerException),
        };
    }
}
