using System.Diagnostics;
using Matrix.Rooms.Bench.All;

namespace Matrix.Rooms.Bench.Domain;

/// <summary>
/// The pure decisions of <see cref="AuthorizationBenchmarks"/> and <see cref="GuestAndVisibilityBenchmarks"/> timed by
/// plain Stopwatch loops on one thread (the <c>all</c> command's quick substitute for BenchmarkDotNet; the
/// <c>--filter</c> runs give the careful figures).
/// </summary>
public static class PureLoops
{
    public static void Run(TimeSpan each)
    {
        var guests = new GuestAndVisibilityBenchmarks();
        guests.Setup();
        var guestCalls = Loop(() => guests.GuestDecision(), each);
        BenchMetrics.Record("guest_check_per_s", guestCalls * 1_000, "decisions/s", Target.AtLeast(5_000_000), "guest authorizer, one endpoint decision, one core");
        var pages = Loop(() => guests.FilterPage(), each);
        BenchMetrics.Record("visibility_page_us", 1_000_000 / pages, "us", Target.Below(1_000), "history-visibility filter, 100-event page, 10,000 membership changes");

        var auth = new AuthorizationBenchmarks { Members = 100_000 };
        auth.Setup();
        var decisions = Loop(() => auth.InviteDecision_LoadedState(), each);
        BenchMetrics.Record("auth_decisions_per_s", decisions, "decisions/s", note: "invite decision, 100,000-member room, the auth events the engine loads, one core");
    }

    /// <summary>Calls per second of <paramref name="body"/> over <paramref name="duration"/>, after a warm-up of a tenth of it.</summary>
    private static double Loop<T>(Func<T> body, TimeSpan duration)
    {
        var sink = default(T);
        for (var warm = Stopwatch.StartNew(); warm.Elapsed < duration / 10;) sink = body();
        long calls = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            for (var i = 0; i < 100; i++) sink = body();
            calls += 100;
        }
        GC.KeepAlive(sink);
        return calls / clock.Elapsed.TotalSeconds;
    }
}
