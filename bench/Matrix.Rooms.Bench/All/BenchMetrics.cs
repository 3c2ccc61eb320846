using System.Globalization;

namespace Matrix.Rooms.Bench.All;

/// <summary>A metric's target as issue 12 states it, and whether a value meets it.</summary>
public sealed record Target(string Text, Func<double, bool> IsMet)
{
    public static Target AtLeast(double bound) => new($"≥ {BenchMetrics.Format(bound)}", v => v >= bound);
    public static Target AtMost(double bound) => new($"≤ {BenchMetrics.Format(bound)}", v => v <= bound);
    public static Target Below(double bound) => new($"< {BenchMetrics.Format(bound)}", v => v < bound);
}

public sealed record Metric(string Name, double Value, string Unit, Target? Target, string? Note);

/// <summary>
/// The figures a run produces. Each is printed at once as <c>name: value unit</c> on <see cref="Output"/> (standard
/// output; the <c>all</c> command points the scenarios' own prose at standard error) and kept for the report.
/// </summary>
public static class BenchMetrics
{
    private static readonly List<Metric> Recorded = [];

    public static TextWriter Output { get; set; } = Console.Out;

    public static IReadOnlyList<Metric> All
    {
        get { lock (Recorded) return Recorded.ToList(); }
    }

    public static void Record(string name, double value, string unit, Target? target = null, string? note = null)
    {
        lock (Recorded) Recorded.Add(new Metric(name, value, unit, target, note));
        Output.WriteLine($"{name}: {Plain(value)} {unit}");
        Output.Flush();
    }

    /// <summary>Machine-readable: no thousands separators.</summary>
    public static string Plain(double value) => Math.Abs(value) switch
    {
        >= 100 => value.ToString("0", CultureInfo.InvariantCulture),
        >= 1 => value.ToString("0.00", CultureInfo.InvariantCulture),
        _ => value.ToString("0.###", CultureInfo.InvariantCulture),
    };

    public static string Format(double value) => Math.Abs(value) switch
    {
        >= 1_000 => value.ToString("#,0", CultureInfo.InvariantCulture),
        >= 100 => value.ToString("0.0", CultureInfo.InvariantCulture),
        >= 1 => value.ToString("0.00", CultureInfo.InvariantCulture),
        0 => "0",
        _ => value.ToString("0.000", CultureInfo.InvariantCulture),
    };
}
