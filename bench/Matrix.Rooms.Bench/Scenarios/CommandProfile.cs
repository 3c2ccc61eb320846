using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Rooms;
using Npgsql;

namespace Matrix.Rooms.Bench.Scenarios;

/// <summary>
/// <c>profile [commands] [invite|send]</c> (issue 12, item 3: profile before changing anything): one sender sends that
/// many commands through <c>IMessageBus</c> on a Host whose cluster preloads <c>pg_stat_statements</c>, and prints per
/// command: the statements PostgreSQL ran (calls, mean time, rows), the client's round trips (Npgsql's activities), the
/// rows each table gained or changed (<c>pg_stat_user_tables</c>), the commits, and the WAL records, bytes and flushes
/// (<c>pg_stat_wal</c>), as Markdown tables for docs/benchmarks.md.
/// </summary>
public static class CommandProfile
{
    public static async Task RunAsync(int n, string kind, int warmup = 50)
    {
        await using var host = await BenchHost.StartAsync(statements: true);
        await using (var setup = new NpgsqlConnection(host.ConnectionString))
        {
            await setup.OpenAsync();
            await Exec(setup, "create extension if not exists pg_stat_statements");
        }

        const string owner = "@bench_owner:localhost";
        var roomId = (await host.NewBus().InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = owner })).RoomId!;
        var bus = host.NewBus();
        var counter = 0;
        RoomCommand Next()
        {
            var i = counter++;
            return kind == "send"
                ? new SendRoomEvent { RoomId = roomId, Sender = owner, EventType = "m.room.message", Content = new JsonObject { ["msgtype"] = "m.text", ["body"] = $"message {i}" } }
                : new InviteUser { RoomId = roomId, Sender = owner, UserId = $"@u{i}:localhost" };
        }
        for (var i = 0; i < warmup; i++) await bus.InvokeAsync<RoomCommandResult>(Next()); // warm-up: code paths (tiered JIT), pool, plans

        await using var stats = new NpgsqlConnection(host.ConnectionString);
        await stats.OpenAsync();
        await Task.Delay(1500); // PostgreSQL 15 flushes a backend's pending statistics within a second of going idle
        var tablesBefore = await Tables(stats);
        var walBefore = await Wal(stats);
        var commitsBefore = await Commits(stats);
        await Exec(stats, "select pg_stat_statements_reset()");

        // Each round trip (one Npgsql command or batch) by its first statement; its start and end within the command.
        var roundTrips = new Dictionary<string, (int Count, double Ms)>();
        var timeline = new List<(long Start, long End)>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                var end = Stopwatch.GetTimestamp();
                var text = activity.GetTagItem("db.query.text") as string ?? activity.GetTagItem("db.statement") as string ?? activity.DisplayName;
                var name = Shorten(text, 60);
                lock (roundTrips)
                {
                    roundTrips.TryGetValue(name, out var v);
                    roundTrips[name] = (v.Count + 1, v.Ms + activity.Duration.TotalMilliseconds);
                    timeline.Add((end - (long)(activity.Duration.TotalSeconds * Stopwatch.Frequency), end));
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var hostCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var postgresCpuBefore = PostgresCpu(host.ConnectionString);
        var phases = new double[8]; // gaps and trips in order: before trip 1, trip 1, between, trip 2, …, after the last
        var phaseCounts = new int[8];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            lock (roundTrips) timeline.Clear();
            var started = Stopwatch.GetTimestamp();
            var result = await bus.InvokeAsync<RoomCommandResult>(Next());
            var ended = Stopwatch.GetTimestamp();
            if (result.Error is not null) throw new InvalidOperationException(result.Error.ToString());
            lock (roundTrips)
            {
                var at = started;
                var k = 0;
                foreach (var (s, e) in timeline.OrderBy(t => t.Start))
                {
                    if (k + 2 >= phases.Length) break;
                    phases[k] += Stopwatch.GetElapsedTime(at, s).TotalMilliseconds; phaseCounts[k]++; k++;
                    phases[k] += Stopwatch.GetElapsedTime(s, e).TotalMilliseconds; phaseCounts[k]++; k++;
                    at = e;
                }
                phases[k] += Stopwatch.GetElapsedTime(at, ended).TotalMilliseconds; phaseCounts[k]++;
            }
        }
        var elapsed = clock.Elapsed.TotalMilliseconds;
        var hostCpu = (Process.GetCurrentProcess().TotalProcessorTime - hostCpuBefore).TotalMilliseconds / n;
        var postgresCpu = (PostgresCpu(host.ConnectionString) - postgresCpuBefore) / n;
        listener.Dispose();
        await Task.Delay(1500);

        var statements = new List<(string Query, double Calls, double Mean, double Total, double Rows)>();
        await using (var read = new NpgsqlCommand(
            "select query, calls, mean_exec_time, total_exec_time, rows from pg_stat_statements " +
            "where dbid = (select oid from pg_database where datname = current_database()) and query not like '%pg_stat_statements%' " +
            "order by total_exec_time desc", stats))
        await using (var reader = await read.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                statements.Add((reader.GetString(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetInt64(4)));
        var tablesAfter = await Tables(stats);
        var walAfter = await Wal(stats);
        var commits = await Commits(stats) - commitsBefore;

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"{n} {kind} commands after {warmup} warm-up commands, one sender, through IMessageBus: {elapsed / n:F2} ms per command (client wall clock)");
        var serverMs = statements.Sum(s => s.Total) / n;
        var tripMs = roundTrips.Values.Sum(v => v.Ms) / n;
        report.AppendLine(CultureInfo.InvariantCulture, $"- CPU: this process (Host, Wolverine, Marten, Npgsql) {hostCpu:F2} ms, the PostgreSQL cluster's processes {(postgresCpu < 0 ? "n/a" : postgresCpu.ToString("F2", CultureInfo.InvariantCulture))} ms per command");
        report.AppendLine(CultureInfo.InvariantCulture, $"- PostgreSQL executing statements (pg_stat_statements total_exec_time): {serverMs:F2} ms per command");
        report.AppendLine(CultureInfo.InvariantCulture, $"- the client waiting on round trips (Npgsql activities, incl. network and the server): {tripMs:F2} ms per command");
        report.AppendLine(CultureInfo.InvariantCulture, $"- the rest (Wolverine, Marten's serialisation, the decision, signing, scheduling): {elapsed / n - tripMs:F2} ms per command");
        report.AppendLine(CultureInfo.InvariantCulture, $"- commits (pg_stat_database.xact_commit, includes the stats connection's own): {(double)commits / n:F2} per command");
        report.AppendLine(CultureInfo.InvariantCulture, $"- WAL: {(walAfter.Records - walBefore.Records) / (double)n:F1} records, {(walAfter.Bytes - walBefore.Bytes) / (double)n:N0} bytes, " +
                                                         $"{(walAfter.Syncs - walBefore.Syncs) / (double)n:F2} flushes (wal_sync), {(walAfter.Writes - walBefore.Writes) / (double)n:F2} writes per command");
        report.AppendLine();
        report.AppendLine("| phase of one command (client clock) | mean ms |");
        report.AppendLine("|---|---:|");
        for (var k = 0; k < phases.Length && phaseCounts[k] > 0; k++)
            report.AppendLine(CultureInfo.InvariantCulture, $"| {(k % 2 == 1 ? $"round trip {k / 2 + 1}" : k == 0 ? "before the first round trip" : $"after round trip {k / 2}")} ({phaseCounts[k]} samples) | {phases[k] / phaseCounts[k]:F3} |");
        report.AppendLine();
        report.AppendLine("| round trip (Npgsql activity) | per command | mean ms |");
        report.AppendLine("|---|---:|---:|");
        foreach (var (name, v) in roundTrips.OrderByDescending(r => r.Value.Ms))
            report.AppendLine(CultureInfo.InvariantCulture, $"| `{Shorten(name, 60)}` | {(double)v.Count / n:F2} | {v.Ms / v.Count:F3} |");
        report.AppendLine();
        report.AppendLine("| statement (pg_stat_statements) | calls per command | mean ms | rows per command |");
        report.AppendLine("|---|---:|---:|---:|");
        foreach (var s in statements.Where(s => s.Calls >= n / 2))
            report.AppendLine(CultureInfo.InvariantCulture, $"| `{Shorten(s.Query, 110)}` | {s.Calls / n:F2} | {s.Mean:F3} | {s.Rows / n:F2} |");
        report.AppendLine();
        report.AppendLine("| table | rows inserted per command | updated (HOT) per command |");
        report.AppendLine("|---|---:|---:|");
        foreach (var (table, after) in tablesAfter.OrderBy(t => t.Key))
        {
            tablesBefore.TryGetValue(table, out var before);
            var inserted = (after.Inserted - before.Inserted) / (double)n;
            var updated = (after.Updated - before.Updated) / (double)n;
            var hot = (after.Hot - before.Hot) / (double)n;
            if (inserted > 0.001 || updated > 0.001)
                report.AppendLine(CultureInfo.InvariantCulture, $"| `{table}` | {inserted:F2} | {updated:F2} ({hot:F2}) |");
        }
        Console.WriteLine(report.ToString());
    }

    /// <summary>CPU milliseconds used so far by the local PostgreSQL server's processes (the postmaster and its children,
    /// from /proc), or -1 when that is not readable (another host, not Linux).</summary>
    private static double PostgresCpu(string connectionString)
    {
        try
        {
            var port = new NpgsqlConnectionStringBuilder(connectionString).Port;
            var total = 0L;
            var ticks = 100.0; // USER_HZ on Linux
            var postmasters = new HashSet<int>();
            var stats = new List<(int Pid, int Parent, long Cpu, string Command)>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
                string stat, cmdline;
                try { stat = File.ReadAllText(Path.Combine(dir, "stat")); cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '); }
                catch (IOException) { continue; }
                catch (UnauthorizedAccessException) { continue; }
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                stats.Add((pid, int.Parse(fields[1], CultureInfo.InvariantCulture), long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture), cmdline));
            }
            foreach (var p in stats)
                if (p.Command.Contains("postgres", StringComparison.Ordinal) && p.Command.Contains($"-p {port}", StringComparison.Ordinal)) postmasters.Add(p.Pid);
            if (postmasters.Count == 0) return -1;
            foreach (var p in stats)
                if (postmasters.Contains(p.Pid) || postmasters.Contains(p.Parent)) total += p.Cpu;
            return total * 1000 / ticks;
        }
        catch (Exception) when (!OperatingSystem.IsLinux())
        {
            return -1;
        }
    }

    private static string Shorten(string text, int max)
    {
        var flat = string.Join(' ', text.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries)).Replace("|", "\\|");
        while (flat.Contains("  ")) flat = flat.Replace("  ", " ");
        return flat.Length <= max ? flat : flat[..max] + "…";
    }

    private static async Task Exec(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<Dictionary<string, (long Inserted, long Updated, long Hot)>> Tables(NpgsqlConnection connection)
    {
        var result = new Dictionary<string, (long, long, long)>();
        await using var command = new NpgsqlCommand("select relname, n_tup_ins, n_tup_upd, n_tup_hot_upd from pg_stat_user_tables", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        return result;
    }

    private static async Task<(long Records, long Bytes, long Writes, long Syncs)> Wal(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("select wal_records, wal_bytes::bigint, wal_write, wal_sync from pg_stat_wal", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    private static async Task<long> Commits(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("select xact_commit from pg_stat_database where datname = current_database()", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
