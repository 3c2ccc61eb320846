using BenchmarkDotNet.Running;
using Matrix.Rooms.Bench.Scenarios;

// dotnet run -c Release --project bench/Matrix.Rooms.Bench -- <scenario> [options]
//   commands [seconds]              end-to-end commands vs raw PostgreSQL inserts (brief: ratio >= 0.35)
//   room-size [members] [invites]   median invite latency, 100,000-member vs 10-member room (brief: <= 1.5x)
//   messages [events] [requests]    GET /messages?limit=100 latency over HTTP
//   anything else                   BenchmarkDotNet switcher over the [Benchmark] classes (e.g. --filter '*Authorization*')
var scenario = args.FirstOrDefault();
int Arg(int index, int fallback) => args.Length > index && int.TryParse(args[index], out var v) ? v : fallback;

switch (scenario)
{
    case "commands":
        await EndToEndScenarios.CommandsAsync(TimeSpan.FromSeconds(Arg(1, 15)));
        break;
    case "room-size":
        await EndToEndScenarios.RoomSizeAsync(Arg(1, 100_000), Arg(2, 300));
        break;
    case "messages":
        await EndToEndScenarios.MessagesAsync(Arg(1, 1_000), Arg(2, 200));
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(EndToEndScenarios).Assembly).Run(args);
        break;
}
