using Marten;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Projections.Documents;
using NodaTime;
using Npgsql;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Rooms;

/// <summary>The answer to a room command: the new event's ID, or the Matrix error that refused it (nothing appended).</summary>
public sealed record RoomCommandResult(string RoomId, string? EventId, MatrixError? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>
/// The write path every room command shares: draft the event, load only the state entries the rules need, decide, and
/// append with the stream version read before deciding. If another writer appended to the room in between, the
/// expected-version check fails and Wolverine retries the command; a retry first takes the room's lock, so writers of
/// a busy room then decide one after the other on fresh state. The uncontended path pays no lock round trip.
/// </summary>
public static class RoomWriter
{
    /// <param name="envelope">The Wolverine envelope: a retry (attempt 2+) after a concurrency conflict takes the room lock.</param>
    public static async Task<RoomCommandResult> DecideAndAppendAsync(RoomCommand command, IDocumentSession session, IClock clock,
        Envelope? envelope, CancellationToken ct)
    {
        if (envelope is { Attempts: > 1 }) await LockRoomAsync(session, command.RoomId, ct);
        var draft = RoomDecider.Draft(command, clock.GetCurrentInstant());
        var (head, state) = await LoadAsync(session, command.RoomId, RoomDecider.StateNeeded(command, draft), ct);
        if (head is null) return new RoomCommandResult(command.RoomId, null, MatrixError.NotFound($"Unknown room {command.RoomId}"));

        var decided = RoomDecider.Decide(command, draft, state, head.LastEventId);
        Telemetry.RoomCommands.Add(1, new KeyValuePair<string, object?>("command", command.GetType().Name),
            new KeyValuePair<string, object?>("outcome", decided.IsSuccess ? "appended" : decided.Error!.ErrCode));
        if (!decided.IsSuccess) return new RoomCommandResult(command.RoomId, null, decided.Error);
        var appended = new List<MatrixEvent> { decided.Value };

        if (decided.Value is GuestAccessEvent guestAccess)
        {
            var version = RoomVersion.Get(((CreateEvent)state.Get(EventAuth.CreateKey)!).RoomVersion)!;
            var leaves = await GuestAccessWithdrawalStep.EventsAfterAsync(session, guestAccess, state, version, clock.GetCurrentInstant(), ct);
            if (!leaves.IsSuccess) return new RoomCommandResult(command.RoomId, null, leaves.Error);
            appended.AddRange(leaves.Value);
        }

        session.Events.Append(command.RoomId, head.StreamVersion + appended.Count, appended.ToArray<object>());
        return new RoomCommandResult(command.RoomId, decided.Value.EventId, null);
    }

    /// <summary>
    /// Serialises the writers of one room: a transaction-scoped PostgreSQL advisory lock on the room ID, held until the
    /// session commits. Commands on different rooms never wait for each other.
    /// </summary>
    public static async Task LockRoomAsync(IDocumentSession session, string roomId, CancellationToken ct)
    {
        await session.BeginTransactionAsync(ct);
        var connection = session.Connection ?? throw new InvalidOperationException("The session has no open connection");
        await using var command = new NpgsqlCommand("select pg_advisory_xact_lock(hashtextextended($1, 0))", connection);
        command.Parameters.AddWithValue(roomId);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Loads the room's head and the current state entries for <paramref name="keys"/> in one round trip — a handful
    /// of rows whatever the room's size.
    /// </summary>
    public static async Task<(RoomHead? Head, DictionaryAuthState State)> LoadAsync(IQuerySession session, string roomId,
        IEnumerable<StateKey> keys, CancellationToken ct)
    {
        // What PostgreSQL cannot hold (an invalid room ID, NUL or a lone surrogate in a key) names nothing stored, and
        // sending it would fail the query: such a room is unknown, such a key absent, and the decider refuses the event.
        if (!Domain.Identifiers.RoomId.IsValid(roomId)) return (null, DictionaryAuthState.Empty);
        var ids = keys.Where(k => JsonInputPolicy.StringProblem(k.Type, "type") is null && JsonInputPolicy.StringProblem(k.Key, "state_key") is null)
            .Select(k => RoomStateEntry.IdFor(roomId, k)).Distinct().ToArray();
        var batch = session.CreateBatchQuery();
        var head = batch.Load<RoomHead>(roomId);
        var entries = batch.LoadMany<RoomStateEntry>().ById(ids);
        await batch.Execute(ct);
        return (await head, DictionaryAuthState.FromEvents((await entries).Select(e => e.Event)));
    }
}
