namespace Matrix.Rooms.Host.Tests.Support;

/// <summary>
/// The reliability suites run bounded in CI; <c>MATRIX_ROOMS_LONG=1</c> runs their long versions
/// (<c>MATRIX_ROOMS_LONG=1 dotnet test Matrix.Rooms.sln --filter Category=Reliability</c>), and <c>MATRIX_ROOMS_SEED</c>
/// replays a generated run. Each suite's summary line goes to <c>.data/reliability/&lt;suite&gt;.txt</c>.
/// </summary>
public static class SuiteScale
{
    public static bool Long => Environment.GetEnvironmentVariable("MATRIX_ROOMS_LONG") == "1";

    public static int Seed => int.TryParse(Environment.GetEnvironmentVariable("MATRIX_ROOMS_SEED"), out var seed) ? seed : 20261201;

    public static void Report(string suite, string summary)
    {
        var folder = Path.Combine(TestDatabase.RepositoryRoot, ".data", "reliability");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, suite + ".txt"), $"{DateTime.UtcNow:u} {(Long ? "long" : "bounded")} {summary}\n");
    }
}
