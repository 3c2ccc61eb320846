using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Host.Tests.Tooling;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Replay;
using Xunit.Abstractions;

namespace Matrix.Rooms.Host.Tests.Cluster;

/// <summary>
/// Issue 13's cluster test: three Host processes on loopback ports share one database (docs/scale-out.md). Traffic goes
/// through all three — concurrent sends, invites, the same transaction ID sent to two nodes at once and retransmitted
/// through another — and a <c>/sync</c> long-poll on node A must wake for an event sent through node B. The node holding
/// Wolverine's leadership is killed with SIGKILL a third of the way through; its clients move to the next node (as behind a load balancer), retrying with
/// the same transaction ID. Afterwards: every acknowledged command is stored (sends exactly once, and every answer for a
/// transaction ID named the same event; one line of prev_events, each event allowed by the rules), the other nodes removed the dead node from Wolverine's node table and took over
/// its agents, and the read models equal live aggregation of the streams. No timing is asserted: every wait is a bound.
/// </summary>
public sealed class ClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>
    /// Quick heartbeats, so a dead node is noticed within seconds here (the defaults: 10 s and 60 s), yet not so quick
    /// that a live node starved of CPU on a loaded machine misses enough of them to be taken for dead.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> QuickFailover = new Dictionary<string, string>
    {
        ["MatrixRooms__Cluster__HealthCheckSeconds"] = "2",
        ["MatrixRooms__Cluster__StaleNodeTimeoutSeconds"] = "10",
        ["MatrixRooms__Cluster__CheckAssignmentSeconds"] = "3",
    };

    private const string LeaderAgent = "wolverine://leader/";
    private static readonly TimeSpan StartBound = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan FailoverBound = TimeSpan.FromMinutes(2);
    private readonly string _connection = TestDatabase.NewDatabase("cluster");
    private readonly MatrixHttp _http = new(TimeSpan.FromSeconds(120));
    private readonly List<HostNode> _nodes = [];
    private WolverineNodeTable _table = null!;
    private int _unanswered;

    public async Task InitializeAsync()
    {
        foreach (var name in new[] { "a", "b", "c" }) _nodes.Add(new HostNode(name, _connection, TestDatabase.RepositoryRoot, QuickFailover));
        _table = new WolverineNodeTable(_connection);
        try
        {
            // The first node creates the schema; the others start together once it is there.
            await _nodes[0].StartAsync(StartBound);
            await Task.WhenAll(_nodes.Skip(1).Select(n => n.StartAsync(StartBound)));
        }
        catch
        {
            // xUnit does not call DisposeAsync when InitializeAsync fails: stop the nodes that did start.
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        _http.Dispose();
    }

    private sealed record Ack(string Kind, string RoomId, string? TxnId = null, string? EventId = null, string? Target = null);

    [Fact]
    public async Task Three_nodes_on_one_database_lose_no_acknowledged_command_when_one_is_killed_and_the_others_take_its_agents()
    {
        var (a, b) = (_nodes[0], _nodes[1]);
        var run = Guid.NewGuid().ToString("N")[..6];
        await Eventually(async () => (await _table.LiveNodesAsync()).Count == 3 && _nodes.All(n => n.WolverineNodeId is not null),
            "all three nodes registered in wolverine_nodes");

        // Six users, three rooms, every user in every room — each call through another node.
        var users = new List<(string UserId, string Token)>();
        for (var i = 0; i < 6; i++) users.Add(await _http.RegisterAsync(_nodes[i % 3].BaseUrl, $"w{i}_{run}"));
        var rooms = new List<string>();
        for (var r = 0; r < 3; r++) rooms.Add(await _http.CreateRoomAsync(_nodes[r].BaseUrl, users[0].Token));
        for (var i = 1; i < users.Count; i++)
            for (var r = 0; r < rooms.Count; r++)
                await _http.JoinAsync(_nodes[(i + r) % 3].BaseUrl, users[i].Token, rooms[r]);
        var invitees = new ConcurrentQueue<string>();
        for (var i = 0; i < 30; i++) invitees.Enqueue((await _http.RegisterAsync(_nodes[i % 3].BaseUrl, $"i{i}_{run}")).UserId);

        // A long-poll on A, woken by a send through B.
        var wakeEvent = await LongPollOnAWokenBySendThroughBAsync(a, b, users[1].Token, users[2].Token, rooms[0], run);

        // Traffic through all three nodes; the leader's node dies a third of the way through.
        const int opsPerWorker = 45;
        var planned = users.Count * opsPerWorker;
        var acks = new ConcurrentQueue<Ack>();
        var unexpected = new ConcurrentQueue<string>();
        var answersByTxn = new ConcurrentDictionary<string, ConcurrentBag<string>>();
        var completed = 0;
        IReadOnlyList<Guid> nodesBeforeKill = [];
        IReadOnlyDictionary<string, Guid> assignmentsBeforeKill = new Dictionary<string, Guid>();
        HostNode? victim = null;
        var killedAfter = -1;
        var workers = Task.WhenAll(users.Select((user, w) => Task.Run(async () =>
        {
            var sent = new List<(string RoomId, string TxnId, string EventId)>();
            for (var j = 0; j < opsPerWorker; j++)
            {
                var room = rooms[(w + j) % rooms.Count];
                var first = (w + j) % 3;
                var txn = $"{run}-{w}-{j}";
                switch (j % 10)
                {
                    case 0 when invitees.TryDequeue(out var invitee):
                    {
                        // By the rooms' creator (inviting needs power level 50), from every worker at once, through every node.
                        var answer = await OnClusterAsync(first, url => _http.InviteAsync(url, users[0].Token, room, invitee));
                        if (answer.Status == 200) acks.Enqueue(new Ack("invite", room, Target: invitee));
                        else unexpected.Enqueue($"invite {invitee} to {room}: {answer}");
                        break;
                    }
                    case 1:
                    {
                        // The same transaction at two nodes at once: one event, both answers naming it.
                        var twins = await Task.WhenAll(
                            OnClusterAsync(first, url => _http.SendAsync(url, user.Token, room, txn, txn)),
                            OnClusterAsync(first + 1, url => _http.SendAsync(url, user.Token, room, txn, txn)));
                        foreach (var answer in twins) Record(answer, room, txn, sent);
                        break;
                    }
                    case 2 when sent.Count > 0:
                    {
                        // A retransmission of an earlier transaction, through another node.
                        var (earlierRoom, earlierTxn, _) = sent[j % sent.Count];
                        Record(await OnClusterAsync(first + 2, url => _http.SendAsync(url, user.Token, earlierRoom, earlierTxn, earlierTxn)),
                            earlierRoom, earlierTxn, null);
                        break;
                    }
                    default:
                        Record(await OnClusterAsync(first, url => _http.SendAsync(url, user.Token, room, txn, txn)), room, txn, sent);
                        break;
                }
                Interlocked.Increment(ref completed);
            }

            void Record(NodeAnswer answer, string roomId, string txnId, List<(string, string, string)>? into)
            {
                if (answer is { Status: 200, EventId: { } eventId })
                {
                    acks.Enqueue(new Ack("send", roomId, txnId, eventId));
                    answersByTxn.GetOrAdd($"{user.UserId}|{roomId}|{txnId}", _ => []).Add(eventId);
                    if (into is not null) lock (into) into.Add((roomId, txnId, eventId));
                }
                else unexpected.Enqueue($"send {txnId} to {roomId}: {answer}");
            }
        })));
        var killer = Task.Run(async () =>
        {
            while (Volatile.Read(ref completed) < planned / 3 && !workers.IsCompleted) await Task.Delay(20);
            nodesBeforeKill = await _table.LiveNodesAsync();
            assignmentsBeforeKill = await _table.AssignmentsAsync();
            // The node that holds the leadership (and so at least one agent) — the hardest one to lose.
            var leader = assignmentsBeforeKill.TryGetValue(LeaderAgent, out var id) ? id : Guid.Empty;
            victim = _nodes.FirstOrDefault(n => n.WolverineNodeId == leader) ?? _nodes[2];
            victim.KillHard();
            killedAfter = Volatile.Read(ref completed);
        });

        await workers;
        await killer;
        victim!.IsRunning.Should().BeFalse("the leader's node was killed");
        killedAfter.Should().BeLessThan(planned, "the node was killed mid-traffic");
        var ranOnVictim = assignmentsBeforeKill.Where(x => x.Value == victim.WolverineNodeId).Select(x => x.Key).ToList();
        ranOnVictim.Should().Contain(LeaderAgent, "the killed node was the leader");

        // Wolverine: the survivors drop the dead node from the node table and take over its agents, leadership included.
        var dead = nodesBeforeKill.Except(await WaitForAsync(() => _table.LiveNodesAsync(), n => n.Count == 2, "the dead node removed from wolverine_nodes")).ToList();
        dead.Should().Equal([victim.WolverineNodeId!.Value], "exactly the killed node left the node table");
        var survivors = (await _table.LiveNodesAsync()).ToHashSet();
        var assignments = await WaitForAsync(() => _table.AssignmentsAsync(),
            now => assignmentsBeforeKill.Keys.All(agent => now.TryGetValue(agent, out var node) && survivors.Contains(node)),
            "every agent assigned to a live node");

        // The store: every acknowledged command is there, sends exactly once.
        using var store = ToolingFixture.StoreOn(_connection);
        var lost = new List<string>();
        var duplicated = new List<string>();
        var ruleFailures = new List<string>();
        var brokenChains = 0;
        foreach (var room in rooms)
        {
            await using var session = store.QuerySession();
            var stream = (await session.Events.FetchStreamAsync(room)).Select(e => (MatrixEvent)e.Data).ToList();
            var ids = stream.Select(e => e.EventId).ToHashSet();
            // Writers of one room queued on its lock whichever node they reached: one line of prev_events, every event
            // allowed by the rules against the state before it.
            if (RoomAudit.FirstFailure(stream) is { } failure)
                ruleFailures.Add($"{room} #{failure.Index} {failure.Event.Type} {failure.Event.EventId}: {failure.Decision}");
            for (var i = 1; i < stream.Count; i++)
                if (stream[i].PrevEvents?.SingleOrDefault()?.GetValue<string>() != stream[i - 1].EventId) brokenChains++;
            foreach (var ack in acks.Where(x => x.RoomId == room))
            {
                if (ack.Kind == "send" && !ids.Contains(ack.EventId!)) lost.Add($"send {ack.TxnId} → {ack.EventId}");
                if (ack.Kind == "invite" && !stream.OfType<MemberEvent>().Any(m => m.StateKey == ack.Target && m.Membership == "invite"))
                    lost.Add($"invite of {ack.Target}");
            }
            duplicated.AddRange(stream.Where(e => e.Type == "m.room.message").GroupBy(e => e.ContentString("body"))
                .Where(g => g.Count() > 1).Select(g => $"{g.Key} stored {g.Count()} times"));
        }
        var differing = answersByTxn.Where(t => t.Value.Distinct().Count() > 1).Select(t => $"{t.Key}: {string.Join(", ", t.Value.Distinct())}").ToList();
        var verification = await new RebuildVerifier(store).VerifyAsync(ProjectionCatalog.All(store), rooms, default);

        output.WriteLine($"cluster: {planned} operations through 3 nodes, node {victim.Name} (the leader, running {string.Join(", ", ranOnVictim)}) killed after {killedAfter}; " +
            $"{acks.Count} acknowledged ({acks.Count(x => x.Kind == "invite")} invites), {_unanswered} calls unanswered and retried on the next node, " +
            $"{unexpected.Count} unexpected answers, " +
            $"lost {lost.Count}, duplicated {duplicated.Count}, unauthorised {ruleFailures.Count}, broken prev_events {brokenChains}, transaction IDs answered with different events {differing.Count}, " +
            $"projection mismatches {verification.Mismatches.Count}; long-poll on A woke for {wakeEvent} sent through B; " +
            $"agents after failover: {string.Join(", ", assignments.Select(x => x.Key))}");

        unexpected.Should().BeEmpty("every command succeeds on some live node:\n" + string.Join("\n", unexpected.Take(10)));
        lost.Should().BeEmpty("every acknowledged command is stored");
        duplicated.Should().BeEmpty("a transaction ID sent to several nodes is stored once");
        ruleFailures.Should().BeEmpty("every stored event passes the rules against the state before it");
        brokenChains.Should().Be(0, "each writer decided on the state its predecessor left, whichever node it reached");
        differing.Should().BeEmpty("every answer for one transaction ID names the same event");
        verification.Passed.Should().BeTrue(string.Join("\n", verification.Mismatches.Take(10)));

        // The survivors still serve, for each other's events.
        var (one, other) = (_nodes.First(n => n.IsRunning), _nodes.Last(n => n.IsRunning));
        var after = await _http.SendAsync(one.BaseUrl, users[3].Token, rooms[1], $"{run}-after", $"{run}-after");
        after.Status.Should().Be(200, after.ToString());
        (await _http.CallAsync(HttpMethod.Get, other.BaseUrl, $"/_matrix/client/v3/rooms/{MatrixHttp.Room(rooms[1])}/event/{Uri.EscapeDataString(after.EventId!)}",
            token: users[4].Token)).Status.Should().Be(200);
    }

    /// <summary>
    /// Starts a long-poll on <paramref name="a"/>; once it is waiting (it has not answered within a moment), sends through
    /// <paramref name="b"/>; the poll must answer with that event. A poll that answered before the send (something
    /// earlier woke it) is started again.
    /// </summary>
    private async Task<string> LongPollOnAWokenBySendThroughBAsync(HostNode a, HostNode b, string watcherToken, string senderToken, string roomId, string run)
    {
        var since = MatrixHttp.Ok(await _http.SyncAsync(a.BaseUrl, watcherToken, null, 0), "initial sync")["next_batch"]!.GetValue<string>();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var poll = _http.SyncAsync(a.BaseUrl, watcherToken, since, 90_000);
            if (await Task.WhenAny(poll, Task.Delay(TimeSpan.FromSeconds(2))) == poll)
            {
                since = MatrixHttp.Ok(await poll, "sync")["next_batch"]!.GetValue<string>();
                continue;
            }
            var sent = MatrixHttp.Ok(await _http.SendAsync(b.BaseUrl, senderToken, roomId, $"{run}-wake", $"{run}-wake"), "send through B")
                ["event_id"]!.GetValue<string>();
            var woke = MatrixHttp.Ok(await poll, "long-poll on A");
            var timeline = woke["rooms"]?["join"]?[roomId]?["timeline"]?["events"] as JsonArray ?? [];
            timeline.Select(e => e?["event_id"]?.GetValue<string>()).Should().Contain(sent,
                "the long-poll on A answers with the event sent through B (it waited up to 90 s: an empty answer means no wake-up crossed nodes)");
            return sent;
        }
        throw new InvalidOperationException("The long-poll on A never stayed waiting");
    }

    /// <summary>
    /// A call as a client behind a load balancer makes it: to the node <paramref name="first"/> names, and to the next when
    /// a node does not answer at all (it died); a <c>503</c> (the room's write queue, a database fault) is retried after a
    /// pause. Retries keep the request as it was, transaction ID included.
    /// </summary>
    private async Task<NodeAnswer> OnClusterAsync(int first, Func<string, Task<NodeAnswer>> call)
    {
        NodeAnswer answer = new(-1, null, "not tried");
        for (var attempt = 0; attempt < 30; attempt++)
        {
            answer = await call(_nodes[(first + attempt) % _nodes.Count].BaseUrl);
            if (answer.Status == 503) await Task.Delay(500);
            else if (answer.Answered) return answer;
            else Interlocked.Increment(ref _unanswered);
        }
        return answer;
    }

    private static async Task Eventually(Func<Task<bool>> condition, string what) => await WaitForAsync(condition, ok => ok, what);

    private static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + FailoverBound;
        while (true)
        {
            var value = await read();
            if (done(value)) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Not within {FailoverBound}: {what}");
            await Task.Delay(250);
        }
    }
}
