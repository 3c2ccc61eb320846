using BenchmarkDotNet.Attributes;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Visibility;

namespace Matrix.Rooms.Bench.Domain;

/// <summary>Issue 4's pure figures: guest authorizer decisions per second, and filtering a 100-event page.</summary>
[MemoryDiagnoser]
public class GuestAndVisibilityBenchmarks
{
    private const int DecisionsPerInvoke = 1_000;
    private ClientEndpoint[] _endpoints = null!;
    private VisibilityValueTimeline _visibility = null!;
    private UserMembershipTimeline _membership = null!;
    private long[] _page = null!;
    private VisibilitySubject[] _subjects = null!;

    [GlobalSetup]
    public void Setup()
    {
        _endpoints = Enum.GetValues<ClientEndpoint>();
        // A room with 10,000 membership changes for the reader (join/leave alternating) and 100 visibility changes.
        _membership = new UserMembershipTimeline(Enumerable.Range(0, 10_000)
            .Select(i => new MembershipChange(i * 10L, i % 2 == 0 ? MembershipState.Join : MembershipState.Leave)));
        _visibility = new VisibilityValueTimeline(Enumerable.Range(0, 100)
            .Select(i => new VisibilityChange(i * 1_000L + 5, (HistoryVisibility)(i % 4))));
        _page = Enumerable.Range(0, 100).Select(i => 50_000L + i * 3).ToArray();
        _subjects = Enumerable.Range(0, 100).Select(i => (VisibilitySubject)(i % 3)).ToArray();
    }

    [Benchmark(OperationsPerInvoke = DecisionsPerInvoke, Description = "guest authorizer: one endpoint decision")]
    public int GuestDecision()
    {
        var refused = 0;
        for (var i = 0; i < DecisionsPerInvoke; i++)
            if (GuestPolicy.CheckEndpoint(_endpoints[i % _endpoints.Length], (i & 1) == 0) is not null) refused++;
        return refused;
    }

    [Benchmark(Description = "visibility filter: 100-event page, 10,000 membership changes")]
    public int FilterPage()
    {
        var visible = 0;
        for (var i = 0; i < _page.Length; i++)
            if (HistoryVisibilityFilter.IsVisible(_page[i], _subjects[i], _visibility, _membership)) visible++;
        return visible;
    }
}
