using System.Diagnostics;
using Matrix.Rooms.Bench.All;
using Matrix.Rooms.Host.Tests.Cluster;

namespace Matrix.Rooms.Bench.Scenarios;

/// <summary>
/// <c>cluster [seconds] [clients] [rounds] [databases]</c> (docs/scale-out.md): Host processes (the bench's build of the Host, Production, so
/// the committed generated code) on one database of the bench cluster.
/// <list type="number">
/// <item>Throughput with 1, 2 and 3 nodes, each on a fresh database: <c>clients</c> clients, each with its own account and
/// its own room, pinned round-robin to the nodes, send <c>m.room.message</c> events one after another over keep-alive
/// connections for <c>seconds</c> (after a 3-second warm-up); sends answered 200 per second. <c>rounds</c> times 1, 2, 3
/// nodes in turn (the load of other work on the machine drifts), reporting the mean per node count.</item>
/// <item>Failover, with Wolverine's default heartbeat settings (10 s heartbeats, 60 s stale-node timeout): the same
/// traffic on 3 nodes,
/// the node holding Wolverine's leadership killed with SIGKILL; its clients move to the next node when it does not
/// answer. Reported: the longest time from the kill to one of its clients' first acknowledged send through a survivor; the
/// time until the survivors have removed it from <c>wolverine_nodes</c>; the time until every agent it ran (the
/// leadership at least) runs on a survivor; then the time from SIGTERM to a survivor's row leaving the table.</item>
/// </list>
/// Rate limits are off (their defaults would cap each account at one send per second).
/// </summary>
public static class ClusterScenario
{
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["MatrixRooms__RateLimits__Register__PerSecond"] = "0",
        ["MatrixRooms__RateLimits__Send__PerSecond"] = "0",
        ["MatrixRooms__RateLimits__Login__PerSecond"] = "0",
        ["MatrixRooms__RateLimits__PasswordHashing__QueueLimit"] = "100000",
    };

    /// <param name="databases">Up to this many databases (1: the main one only; 2: rooms sharded over the main one and
    /// one more, <c>MatrixRooms:Shards</c>), each node count run with each database count.</param>
    public static async Task RunAsync(int seconds, int clients, int rounds, int databases = 2)
    {
        using var cluster = BenchCluster.StartOrAttach();
        Console.Error.WriteLine($"cluster: {clients} clients, {seconds} s per run, on the {cluster.Description}; machine: {Environment.ProcessorCount} cores");
        var throughput = new Dictionary<(int Nodes, int Databases), List<double>>();
        foreach (var dbs in Enumerable.Range(1, Math.Max(1, databases)))
            foreach (var nodes in new[] { 1, 2, 3 })
                throughput[(nodes, dbs)] = [];
        for (var round = 0; round < Math.Max(1, rounds); round++)
            foreach (var (count, dbs) in throughput.Keys)
            {
                await using var run = await ClusterRun.StartAsync(cluster, count, dbs);
                var senders = await run.PrepareAsync(clients);
                var measured = await run.MeasureAsync(senders, TimeSpan.FromSeconds(seconds));
                throughput[(count, dbs)].Add(measured);
                Console.Error.WriteLine($"round {round + 1}, {count} node(s), {dbs} database(s): {measured:F0} sends/s");
            }
        var one = throughput[(1, 1)].Average();
        foreach (var ((count, dbs), runs) in throughput)
        {
            var suffix = dbs == 1 ? "" : $"_{dbs}_databases";
            BenchMetrics.Record($"cluster_sends_per_s_{count}_node{(count == 1 ? "" : "s")}{suffix}", runs.Average(), "sends/s",
                note: $"{clients} clients on {count} node(s), {dbs} database(s), own room each, keep-alive, {seconds} s; runs: {string.Join(", ", runs.Select(r => r.ToString("F0")))}");
            if (count > 1 || dbs > 1) BenchMetrics.Record($"cluster_ratio_{count}_nodes{suffix}_to_1", runs.Average() / one, "x");
        }

        await using (var run = await ClusterRun.StartAsync(cluster, 3, databases: 1, oneByOne: true))
        {
            var senders = await run.PrepareAsync(clients);
            var (clientFailover, nodeRemoved, agentsMoved) = await run.FailoverAsync(senders);
            BenchMetrics.Record("cluster_failover_clients_s", clientFailover, "s", note: "SIGKILL of the leader's node → the last of its clients' first 200 through a survivor");
            BenchMetrics.Record("cluster_failover_node_removed_s", nodeRemoved, "s", note: "SIGKILL → the node gone from wolverine_nodes (Wolverine defaults)");
            BenchMetrics.Record("cluster_failover_agents_moved_s", agentsMoved, "s", note: "SIGKILL → every agent it ran (leadership included) assigned to a survivor");
            BenchMetrics.Record("cluster_sigterm_node_removed_s", await run.StopGracefullyAsync(), "s", note: "SIGTERM to a survivor → its row gone from wolverine_nodes");
        }
    }

    /// <summary>One client: an account, its room, the node it talks to first.</summary>
    private sealed class Sender(string token, string roomId, int node)
    {
        public string Token { get; } = token;
        public string RoomId { get; } = roomId;
        public int Node { get; } = node;
        public int Sent;
    }

    private sealed class ClusterRun : IAsyncDisposable
    {
        private readonly BenchCluster _cluster;
        private readonly string _database;
        private readonly IReadOnlyList<string> _shardDatabases;
        private readonly List<HostNode> _nodes;
        private readonly WolverineNodeTable _table;
        private readonly MatrixHttp _http = new(TimeSpan.FromSeconds(60));

        private ClusterRun(BenchCluster cluster, string database, string connection, int count, IReadOnlyList<string> shardDatabases)
        {
            (_cluster, _database, _shardDatabases) = (cluster, database, shardDatabases);
            // Shards 1…: MatrixRooms:Shards:0, :1, … (docs/scale-out.md "Sharding rooms").
            var settings = new Dictionary<string, string>(Settings);
            for (var i = 0; i < shardDatabases.Count; i++) settings[$"MatrixRooms__Shards__{i}"] = cluster.CreateDatabase(shardDatabases[i]);
            _nodes = Enumerable.Range(0, count).Select(i => new HostNode(((char)('a' + i)).ToString(), connection, BenchHost.RepositoryRoot(), settings)).ToList();
            _table = new WolverineNodeTable(connection);
        }

        /// <param name="oneByOne">Start the nodes one after another, not B and C together.</param>
        public static async Task<ClusterRun> StartAsync(BenchCluster cluster, int count, int databases = 1, bool oneByOne = false)
        {
            var database = $"bench_cluster_{count}_{databases}_{DateTime.UtcNow:yyyyMMddHHmmss}";
            var run = new ClusterRun(cluster, database, cluster.CreateDatabase(database), count,
                Enumerable.Range(1, databases - 1).Select(i => $"{database}_shard{i}").ToList());
            try
            {
                await run._nodes[0].StartAsync(TimeSpan.FromMinutes(3)); // creates the schema
                if (oneByOne)
                    foreach (var node in run._nodes.Skip(1)) await node.StartAsync(TimeSpan.FromMinutes(3));
                else await Task.WhenAll(run._nodes.Skip(1).Select(n => n.StartAsync(TimeSpan.FromMinutes(3))));
                var deadline = DateTime.UtcNow.AddMinutes(2);
                while ((await run._table.LiveNodesAsync()).Count < count || run._nodes.Any(n => n.WolverineNodeId is null))
                {
                    if (DateTime.UtcNow > deadline) throw new TimeoutException($"{count} nodes did not all register in wolverine_nodes");
                    await Task.Delay(250);
                }
            }
            catch
            {
                await run.DisposeAsync(); // stops the nodes that started
                throw;
            }
            return run;
        }

        public async Task<IReadOnlyList<Sender>> PrepareAsync(int clients)
        {
            var tag = Guid.NewGuid().ToString("N")[..6];
            try
            {
                return await Task.WhenAll(Enumerable.Range(0, clients).Select(async i =>
                {
                    var node = _nodes[i % _nodes.Count].BaseUrl;
                    var (_, token) = await _http.RegisterAsync(node, $"bench{i}_{tag}");
                    return new Sender(token, await _http.CreateRoomAsync(node, token), i % _nodes.Count);
                }));
            }
            catch
            {
                // The nodes' logs say why a request failed; they go with the nodes when the run is disposed.
                foreach (var node in _nodes) Console.Error.WriteLine($"--- node {node.Name}:\n{node.Output}");
                throw;
            }
        }

        /// <summary>Sends answered 200 per second, over <paramref name="duration"/> after a warm-up.</summary>
        public async Task<double> MeasureAsync(IReadOnlyList<Sender> senders, TimeSpan duration)
        {
            using var warmUp = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await Task.WhenAll(senders.Select(s => SendUntilAsync(s, warmUp.Token, null)));
            foreach (var s in senders) s.Sent = 0;
            using var measured = new CancellationTokenSource(duration);
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(senders.Select(s => SendUntilAsync(s, measured.Token, null)));
            return senders.Sum(s => s.Sent) / clock.Elapsed.TotalSeconds;
        }

        public async Task<(double Clients, double NodeRemoved, double AgentsMoved)> FailoverAsync(IReadOnlyList<Sender> senders)
        {
            using var stop = new CancellationTokenSource();
            var firstAfterKill = new System.Collections.Concurrent.ConcurrentDictionary<Sender, double>();
            var clock = new Stopwatch();
            var victim = -1;
            var traffic = Task.WhenAll(senders.Select(s => SendUntilAsync(s, stop.Token, (sender, moved) =>
            {
                if (clock.IsRunning && sender.Node == victim && moved > 0) firstAfterKill.TryAdd(sender, clock.Elapsed.TotalSeconds);
            })));
            await Task.Delay(TimeSpan.FromSeconds(5));
            var assignments = await _table.AssignmentsAsync();
            // The leader's node: it holds at least the leadership, so its loss moves an agent.
            var dead = assignments.TryGetValue("wolverine://leader/", out var leader) ? leader : Guid.Empty;
            victim = _nodes.FindIndex(n => n.WolverineNodeId == dead);
            if (victim < 0) throw new InvalidOperationException("No node logged the leader's Wolverine node id");
            _nodes[victim].KillHard();
            clock.Start();
            var onDead = assignments.Where(a => a.Value == dead).Select(a => a.Key).ToList();
            double? removed = null, moved = null;
            while ((removed is null || moved is null) && clock.Elapsed < TimeSpan.FromMinutes(5))
            {
                var live = await _table.LiveNodesAsync();
                if (removed is null && !live.Contains(dead)) removed = clock.Elapsed.TotalSeconds;
                var now = await _table.AssignmentsAsync();
                if (moved is null && onDead.All(agent => now.TryGetValue(agent, out var node) && node != dead && live.Contains(node)))
                    moved = clock.Elapsed.TotalSeconds;
                await Task.Delay(100);
            }
            stop.Cancel();
            await traffic;
            var former = senders.Where(s => s.Node == victim).ToList();
            Console.Error.WriteLine($"failover: node {_nodes[victim].Name} ran {string.Join(", ", onDead)}; " +
                $"{firstAfterKill.Count} of its {former.Count} clients served again through the others");
            return (former.Count == 0 || firstAfterKill.Count < former.Count ? double.NaN : firstAfterKill.Values.Max(),
                removed ?? double.NaN, moved ?? double.NaN);
        }

        /// <summary>Seconds from SIGTERM to the node's row leaving <c>wolverine_nodes</c> (the node removes itself on shutdown).</summary>
        public async Task<double> StopGracefullyAsync()
        {
            var before = await _table.LiveNodesAsync();
            var clock = Stopwatch.StartNew();
            await _nodes.First(n => n.IsRunning).StopAsync(TimeSpan.FromSeconds(60));
            var stopped = clock.Elapsed.TotalSeconds;
            while (clock.Elapsed < TimeSpan.FromMinutes(3))
            {
                if ((await _table.LiveNodesAsync()).Count < before.Count) return clock.Elapsed.TotalSeconds;
                await Task.Delay(100);
            }
            Console.Error.WriteLine($"SIGTERM: the node exited after {stopped:F1} s but its row stayed for 3 minutes");
            return double.NaN;
        }

        /// <summary>Sends one message after another, to the sender's node and, when it does not answer, the next.</summary>
        private async Task SendUntilAsync(Sender sender, CancellationToken stop, Action<Sender, int>? onAcknowledged)
        {
            var counter = 0;
            var offset = 0;
            while (!stop.IsCancellationRequested)
            {
                var txn = $"{Environment.TickCount64}-{counter++}";
                var node = _nodes[(sender.Node + offset) % _nodes.Count];
                NodeAnswer answer;
                try
                {
                    answer = await _http.SendAsync(node.BaseUrl, sender.Token, sender.RoomId, txn, "bench", stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                if (answer.Status == 200)
                {
                    sender.Sent++;
                    onAcknowledged?.Invoke(sender, offset);
                }
                else if (!answer.Answered) offset++;
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var node in _nodes) await node.DisposeAsync();
            _http.Dispose();
            _cluster.DropDatabase(_database);
            foreach (var shard in _shardDatabases) _cluster.DropDatabase(shard);
        }
    }
}
