namespace Matrix.Rooms.Host.Tests.Reliability;

/// <summary>
/// How big the reliability suites run. CI runs the bounded size (a few seconds each); <c>MATRIX_ROOMS_LONG=1</c> runs
/// the long version (docs/reliability-concurrency.md); <c>MATRIX_ROOMS_SEED</c> replays another random script.
/// </summary>
public static class ReliabilityScale
{
    public const string Category = "Reliability";

    public static bool Long { get; } = Environment.GetEnvironmentVariable("MATRIX_ROOMS_LONG") is "1" or "true";

    public static int Seed { get; } = int.TryParse(Environment.GetEnvironmentVariable("MATRIX_ROOMS_SEED"), out var seed) ? seed : 9;

    public static int Pick(int bounded, int @long) => Long ? @long : bounded;
}
