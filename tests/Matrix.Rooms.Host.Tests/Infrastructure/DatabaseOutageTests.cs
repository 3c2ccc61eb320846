using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Alba;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Tests.Reliability;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Postgres;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Replay;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wolverine;
using Xunit.Abstractions;

namespace Matrix.Rooms.Host.Tests.Infrastructure;

/// <summary>
/// Suite 3 of issue 9 (database faults). PostgreSQL stopped and started again under a running Host: meanwhile every
/// request gets a Matrix error (never a crash, a hang or an HTML page), and afterwards the Host serves again by itself,
/// with nothing acknowledged lost. A write whose connection died may have been committed: its 503 says the outcome is
/// unknown, and a send retried with the same transaction ID answers the event stored the first time.
/// The Host reaches PostgreSQL through <see cref="CommitCuttingProxy"/>, transparent until a test arms it.
/// </summary>
public sealed class DatabaseOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "matrix-rooms-outage-" + Guid.NewGuid().ToString("N")[..8]);
    private EmbeddedPostgres _cluster = null!;
    private CommitCuttingProxy _proxy = null!;
    private IAlbaHost _host = null!;
    private HostClient _http = null!;

    private EmbeddedPostgresOptions Options => new()
    {
        DataDirectory = Path.Combine(_root, "postgres"), Database = "outage",
        ServerSettings = new Dictionary<string, string> { ["fsync"] = "off" },
    };

    public async Task InitializeAsync()
    {
        _cluster = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance);
        _proxy = new CommitCuttingProxy(_cluster.Port);
        var connectionString = new NpgsqlConnectionStringBuilder(_cluster.ConnectionString()) { Port = _proxy.Port }.ConnectionString;
        try
        {
            _host = await AlbaHost.For<Program>(builder =>
            {
                builder.UseSetting("ConnectionStrings:Marten", connectionString);
                builder.UseSetting("MatrixRooms:PasswordHashIterations", "1000");
                builder.ConfigureServices(services => services.RunWolverineInSoloMode());
            });
        }
        catch
        {
            // A Host that fails to start must not leave this test's own PostgreSQL server running after the run.
            await _proxy.DisposeAsync();
            _cluster.Dispose();
            _cluster = null!;
            throw;
        }
        _http = new HostClient(_host);
    }

    [Fact]
    public async Task The_host_answers_with_matrix_errors_while_the_database_is_down_and_recovers_by_itself()
    {
        var (_, token) = await _http.RegisterAsync("before");
        var roomId = await _http.CreateRoomAsync(token, "private_chat");

        _cluster.Dispose(); // the database goes away under the running Host
        var down = await _http.PostAsync("/_matrix/client/v3/createRoom", new JsonObject(), token);
        down.Status.Should().Be(503);
        down.ErrCode.Should().Be("M_UNKNOWN");
        down.Body["retry_after_ms"]!.GetValue<long>().Should().BePositive();
        var read = await _http.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/rooms/{HostClient.Room(roomId)}/joined_members", token: token);
        read.Status.Should().Be(503);
        read.Body["error"]!.GetValue<string>().Should().Contain("nothing was changed", "a read changes nothing whatever happened");

        _cluster = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance); // same data, same port
        (await UntilAsync(async () => (await _http.SendAsync(HttpMethod.Get,
            $"/_matrix/client/v3/rooms/{HostClient.Room(roomId)}/joined_members", token: token)).Status == 200)).Should().BeTrue("the Host reconnects once the database is back");
        (await _http.CreateRoomAsync(token, "private_chat")).Should().StartWith("!", "commands are accepted again");
    }

    [Fact]
    public async Task A_send_whose_commit_answer_is_lost_is_answered_503_outcome_unknown_and_its_retry_returns_the_stored_event()
    {
        var (_, token) = await _http.RegisterAsync("ghost");
        var roomId = await _http.CreateRoomAsync(token, "private_chat");
        var path = HostClient.SendPath(roomId, "m.room.message", "ghost-1");
        var content = new JsonObject { ["msgtype"] = "m.text", ["body"] = "ghost " + Guid.NewGuid() };

        // PostgreSQL commits the send; the connection dies before the Host hears so, and stays unreachable for its retries.
        _proxy.ArmCutAfterCommit("senttransaction");
        var unknown = await _http.PutAsync(path, content, token);

        _proxy.CutDone.Should().BeTrue("the send's COMMIT reached PostgreSQL and its answer was lost");
        unknown.Status.Should().Be(503, unknown.Text);
        unknown.ErrCode.Should().Be("M_UNKNOWN");
        unknown.Body["error"]!.GetValue<string>().Should().Contain("unknown", "the Host cannot know whether the commit happened");
        unknown.Body["retry_after_ms"]!.GetValue<long>().Should().BePositive();
        var stored = await MessagesAsync(roomId, direct: true);
        stored.Where(e => e.ContentString("body") == content["body"]!.GetValue<string>()).Should().ContainSingle("the commit did happen: a ghost");

        _proxy.Restore();
        var retried = await _http.PutAsync(path, content, token);
        retried.Status.Should().Be(200, retried.Text);
        var matching = (await MessagesAsync(roomId)).Where(e => e.ContentString("body") == content["body"]!.GetValue<string>()).ToList();
        matching.Should().ContainSingle("the retry returns the stored event instead of storing a second one");
        retried.EventId.Should().Be(matching[0].EventId);
    }

    [Fact]
    [Trait("Category", ReliabilityScale.Category)]
    public async Task PostgreSQL_stopped_hard_under_load_and_restarted_loses_no_acknowledged_event_and_retries_resolve_every_unknown_outcome()
    {
        var senderCount = ReliabilityScale.Pick(6, 16);
        var cycles = ReliabilityScale.Pick(1, 8);
        var acksPerSenderBetweenFaults = ReliabilityScale.Pick(2, 25);
        var (_, ownerToken) = await _http.RegisterAsync("owner");
        var roomId = await _http.CreateRoomAsync(ownerToken, "public_chat");
        var senders = new List<string>();
        for (var i = 0; i < senderCount; i++)
        {
            var (_, token) = await _http.RegisterAsync($"sender{i}");
            (await _http.PostAsync($"/_matrix/client/v3/rooms/{HostClient.Room(roomId)}/join", new JsonObject(), token)).Status.Should().Be(200);
            senders.Add(token);
        }

        var log = new ConcurrentQueue<(int Sender, string Txn, Answer Answer)>();
        var acks = new int[senderCount];
        var failures = 0;
        using var stop = new CancellationTokenSource();
        var load = senders.Select((token, s) => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var txn = $"s{s}-{n}";
                var answer = await _http.PutAsync(HostClient.SendPath(roomId, "m.room.message", txn), Body(s, txn), token);
                log.Enqueue((s, txn, answer));
                if (answer.Status == 200) Interlocked.Increment(ref acks[s]);
                else
                {
                    Interlocked.Increment(ref failures);
                    await Task.Delay(100); // a client backing off, not a measurement
                }
            }
        })).ToList();

        for (var cycle = 0; cycle < cycles; cycle++)
        {
            var before = acks.Sum();
            (await UntilAsync(() => Task.FromResult(acks.Sum() >= before + acksPerSenderBetweenFaults * senderCount))).Should().BeTrue("the load runs before the fault");
            _cluster.StopImmediately(); // pg_ctl stop -m immediate: backends killed mid-statement
            var failed = Volatile.Read(ref failures);
            (await UntilAsync(() => Task.FromResult(Volatile.Read(ref failures) >= failed + senderCount))).Should().BeTrue("requests fail while the database is down");
            _cluster = EmbeddedPostgres.StartOrAttach(Options, NullLogger.Instance); // crash recovery, same port
            var ackedBefore = acks.ToArray();
            (await UntilAsync(() => Task.FromResult(acks.Select((a, s) => a > ackedBefore[s]).All(x => x)))).Should()
                .BeTrue("every sender is served again without anyone restarting the Host");
        }
        await stop.CancelAsync();
        await Task.WhenAll(load);

        var all = log.ToList();
        var hung = all.Count(l => l.Answer.Status < 0);
        var notMatrix = all.Where(l => l.Answer.Status != 200 && !(l.Answer.Status == 503 && l.Answer.IsMatrixError && l.Answer.Body["retry_after_ms"] is not null)).ToList();
        var storedBefore = (await MessagesAsync(roomId)).Select(e => e.EventId).ToHashSet();
        var lost = all.Where(l => l.Answer.Status == 200 && !storedBefore.Contains(l.Answer.EventId!)).ToList();

        // Every request that was not acknowledged is retried with its transaction ID: it answers the ghost if there is one.
        var ghosts = 0;
        var unresolved = new List<string>();
        foreach (var (s, txn, _) in all.Where(l => l.Answer.Status != 200))
        {
            var retry = await _http.PutAsync(HostClient.SendPath(roomId, "m.room.message", txn), Body(s, txn), senders[s]);
            if (retry.Status != 200) unresolved.Add($"{txn}: {retry}");
            else if (storedBefore.Contains(retry.EventId!)) ghosts++;
        }
        var stream = await MessagesAsync(roomId, includeState: true);
        var messages = stream.Where(e => e.Type == "m.room.message").ToList();
        var duplicated = messages.GroupBy(e => e.ContentString("body")).Count(g => g.Count() > 1);
        var audit = RoomAudit.FirstFailure(stream);
        var store = _host.Services.GetRequiredService<IDocumentStore>();
        var verification = await new RebuildVerifier(store).VerifyAsync(ProjectionCatalog.All(store), [roomId], default);

        output.WriteLine($"database faults: {senderCount} senders, {cycles} × pg_ctl stop -m immediate: {all.Count} requests " +
            $"({string.Join(", ", all.GroupBy(l => l.Answer.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} × {g.Key}"))}); " +
            $"{messages.Count} messages checked; hung {hung}, non-Matrix errors {notMatrix.Count}, lost {lost.Count}, " +
            $"ghosts found by retry {ghosts}, unresolved {unresolved.Count}, duplicated {duplicated}, " +
            $"unauthorised {(audit is null ? 0 : 1)}, projection mismatches {verification.Mismatches.Count}");

        hung.Should().Be(0, "no request hangs");
        notMatrix.Should().BeEmpty(string.Join("\n", notMatrix.Take(5).Select(l => l.Answer.ToString())));
        all.Should().Contain(l => l.Answer.Status == 503, "the fault was felt");
        lost.Should().BeEmpty("every acknowledged event is stored");
        unresolved.Should().BeEmpty("after recovery a retry with the same transaction ID is answered");
        duplicated.Should().Be(0, "a retry after an unknown outcome never stores a second event");
        messages.Select(e => e.ContentString("body")).Should().OnlyHaveUniqueItems();
        audit.Should().BeNull("every stored event passes the rules against the state before it");
        verification.Passed.Should().BeTrue(string.Join("\n", verification.Mismatches.Take(10)));
        (await _http.SendAsync(HttpMethod.Get, "/_matrix/client/versions")).Status.Should().Be(200, "the Host stayed up");
    }

    private static JsonObject Body(int sender, string txn) => new() { ["msgtype"] = "m.text", ["body"] = $"sender{sender} {txn}" };

    /// <summary>The room's events, through the Host's store or (while the proxy is down) straight from the cluster.</summary>
    private async Task<IReadOnlyList<MatrixEvent>> MessagesAsync(string roomId, bool direct = false, bool includeState = false)
    {
        if (!direct)
        {
            await using var session = _host.Services.GetRequiredService<IDocumentStore>().QuerySession();
            var events = (await session.Events.FetchStreamAsync(roomId)).Select(e => (MatrixEvent)e.Data).ToList();
            return includeState ? events : events.Where(e => e.Type == "m.room.message").ToList();
        }
        await using var connection = new NpgsqlConnection(_cluster.ConnectionString());
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("select data::text from mt_events where stream_id = $1 and type = 'm.room.message'", connection)
        {
            Parameters = { new() { Value = roomId } },
        };
        var found = new List<MatrixEvent>();
        await using var reader = await query.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var data = JsonNode.Parse(reader.GetString(0))!.AsObject();
            found.Add(MatrixEvent.Create("m.room.message", roomId, "", null, data["content"]!.AsObject().DeepClone().AsObject(),
                NodaTime.Instant.FromUnixTimeMilliseconds(0), data["event_id"]?.GetValue<string>()));
        }
        return found;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds, for at most two minutes: a liveness bound, not a measurement.</summary>
    private static async Task<bool> UntilAsync(Func<Task<bool>> condition)
    {
        for (var attempt = 0; attempt < 1200; attempt++)
        {
            if (await condition()) return true;
            await Task.Delay(100);
        }
        return false;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        if (_cluster is null) return; // stopped when the Host failed to start
        await _proxy.DisposeAsync();
        _cluster.Dispose();
        NpgsqlConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
