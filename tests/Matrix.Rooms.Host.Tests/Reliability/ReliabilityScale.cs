namespace Matrix.Rooms.Host.Tests.Reliability;

/// <summary>
/// How big the reliability suites run. CI runs the bounded size (a few seconds each); <c>MATRIX_ROOMS_LONG=1</c> runs
/// the long version (docs/reliability.md); <c>MATRIX_ROOMS_SEED</c> replays another random script. Each suite's
/// summary line also goes to <c>.data/reliability/&lt;suite&gt;.txt</c>.
/// </summary>
public static class ReliabilityScale
{
    public const string Category = "Reliability";

    public static bool Long { get; } = Environment.GetEnvironmentVariable("MATRIX_ROOMS_LONG") is "1" or "true";

    public static int Seed { get; } = int.TryParse(Environment.GetEnvironmentVariable("MATRIX_ROOMS_SEED"), out var seed) ? seed : 9;

    public static int Pick(int bounded, int @long) => Long ? @long : bounded;

    public static void Report(string suite, string summary)
    {
        var folder = Path.Combine(Support.TestDatabase.RepositoryRoot, ".data", "reliability");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, suite + ".txt"), $"{DateTime.UtcNow:u} {(Long ? "long" : "bounded")} {summary}\n");
    }
}
