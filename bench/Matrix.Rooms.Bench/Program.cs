using BenchmarkDotNet.Running;
using Matrix.Rooms.Bench.Scenarios;
using Matrix.Rooms.Bench.Tooling;

// dotnet run -c Release --project bench/Matrix.Rooms.Bench -- <scenario> [options]
//   all [--quick]                   every scenario below in one run; metrics as `name: value unit` on stdout, the table
//                                   into docs/benchmarks.md (MATRIX_ROOMS_BENCH_POSTGRES: use that server, not the embedded one)
//   commands [seconds] [invite|send] end-to-end commands vs raw PostgreSQL inserts (brief: ratio >= 0.35)
//   profile [commands] [invite|send] [warm-up]  one command's statements, round trips, rows, commits and WAL (pg_stat_statements)
//   room-size [members] [invites]   median invite latency, 100,000-member vs 10-member room (brief: <= 1.5x)
//   messages [events] [requests]    GET /messages?limit=100 latency over HTTP
//   rebuild [events] [rooms]        rebuild of every projection: events/s and peak memory (brief: >= 50,000/s, < 1 GiB)
//   rebuild-compare [events] [rooms]  the tooling's rebuild vs Marten's daemon rebuild (default, tuned): events/s, peak MiB
//   import [events]                 one room's JSON Lines through the import (Marten's bulk event insert) (brief: >= 50,000 events/s)
//   seed [rooms] [members] [events]  (in this process) the bulk seeder (seed --bulk) on a fresh database, and its scripts sealed in memory alone
//   time-travel [events]            room state at a version / instant in a room of that many events
//   signature-work [iterations]     a third-party invite with 600 keys and 600 bogus signatures vs an ordinary one
//   sync [rooms] [events] [wakeups] [idle rooms]  initial sync p50/p95, long-poll wake-up p50/p99, incremental 1,000 idle rooms / 10
//   sync-lazy [members]             initial sync with lazy-loaded members, 100,000-member room / 10-member room (brief: <= 1.5x)
//   startup [runs]                  the built Host: process start to the first 200 on /versions (Production)
//   cluster [seconds] [clients] [rounds] [databases]  sends/s with 1, 2 and 3 Host processes on 1 and 2 databases (rooms sharded); failover after SIGKILL (docs/scale-out.md)
//   logins [seconds] [bounded|unbounded]  unrelated request latency while 16 clients log in (PBKDF2 600,000)
//   anything else                   BenchmarkDotNet switcher over the [Benchmark] classes (e.g. --filter '*Authorization*')
var scenario = args.FirstOrDefault();
int Arg(int index, int fallback) => args.Length > index && int.TryParse(args[index], out var v) ? v : fallback;

switch (scenario)
{
    case "all":
        return await Matrix.Rooms.Bench.All.AllScenarios.RunAsync(args.Contains("--quick"));
    case "startup":
        await StartupScenario.RunAsync(Arg(1, 5));
        break;
    case "commands":
        await EndToEndScenarios.CommandsAsync(TimeSpan.FromSeconds(Arg(1, 15)), args.Length > 2 ? args[2] : "invite");
        break;
    case "breakdown":
        await Breakdown.RunAsync(Arg(1, 500));
        break;
    case "profile":
        await CommandProfile.RunAsync(Arg(1, 500), args.Length > 2 ? args[2] : "invite", Arg(3, 50));
        break;
    case "room-size":
        await EndToEndScenarios.RoomSizeAsync(Arg(1, 100_000), Arg(2, 300));
        break;
    case "messages":
        await EndToEndScenarios.MessagesAsync(Arg(1, 1_000), Arg(2, 200));
        break;
    case "rebuild":
        await ToolingScenarios.RebuildAsync(Arg(1, 1_000_000), Arg(2, 1_000));
        break;
    case "rebuild-run":
        return await ToolingScenarios.RebuildRunAsync(args[1]);
    case "rebuild-compare":
        await RebuildComparison.RunAsync(Arg(1, 1_000_000), Arg(2, 1_000));
        break;
    case "rebuild-compare-run":
        return await RebuildComparison.RunOneAsync(args[1], args[2]);
    case "import":
        await ToolingScenarios.ImportAsync(Arg(1, 100_000));
        break;
    case "seed-run":
        return await ToolingScenarios.SeedRunAsync(args[1], Arg(2, 20), Arg(3, 20), Arg(4, 1_000), Arg(5, 1));
    case "import-run":
        return await ToolingScenarios.ImportRunAsync(Arg(1, 100_000), args[2], args[3], args[4], args[5]);
    case "sync":
        await SyncScenario.RunAsync(Arg(1, 200), Arg(2, 100), Arg(3, 200), Arg(4, 1_000));
        break;
    case "sync-lazy":
        await SyncScenario.LazyMembersAsync(Arg(1, 100_000));
        break;
    case "cluster":
        await ClusterScenario.RunAsync(Arg(1, 20), Arg(2, 24), Arg(3, 2), Arg(4, 2));
        break;
    case "logins":
        await LoginScenario.RunAsync(TimeSpan.FromSeconds(Arg(1, 20)), args.Length > 2 ? args[2] : "bounded");
        break;
    case "seed":
        await ToolingScenarios.SeedAsync(Arg(1, 20), Arg(2, 20), Arg(3, 1_000));
        break;
    case "time-travel":
        await ToolingScenarios.TimeTravelAsync(Arg(1, 100_000));
        break;
    case "signature-work":
        Matrix.Rooms.Bench.Domain.SignatureWorkScenario.Run(Arg(1, 200));
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(EndToEndScenarios).Assembly).Run(args);
        break;
}
return 0;
