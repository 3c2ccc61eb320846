using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using NodaTime;

namespace Matrix.Rooms.Bench.Domain;

/// <summary>
/// Issue 3's figure: authorization decisions per second for a membership change in a room with 100,000 members, next
/// to the same decision in a 10-member room. The state handed to the rules is what the engine loads: the auth events
/// the rules name (create, power levels, join rules, sender's and target's member events), never the whole membership.
/// </summary>
[MemoryDiagnoser]
public class AuthorizationBenchmarks
{
    private static readonly Instant Now = Instant.FromUnixTimeSeconds(1_700_000_000);
    private MatrixEvent _invite = null!;
    private IAuthState _loadedState = null!;
    private IAuthState _fullState = null!;

    [Params(10, 100_000)]
    public int Members { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        const string roomId = "!bench:localhost", owner = "@owner:localhost";
        var created = CreateRoomDecider.Decide(new CreateRoom { Creator = owner, Preset = Presets.PublicChat }, roomId, Now).Value;
        var full = DictionaryAuthState.FromEvents(created);
        for (var i = 0; i < Members - 1; i++)
            full = full.Apply(MatrixEvent.Create(EventTypes.Member, roomId, $"@m{i}:localhost", $"@m{i}:localhost",
                new JsonObject { ["membership"] = "join" }, Now));
        _fullState = full;
        _invite = RoomDecider.Draft(new InviteUser { RoomId = roomId, Sender = owner, UserId = "@newcomer:localhost" }, Now);
        // What the write side loads for this decision: just the auth events.
        _loadedState = DictionaryAuthState.FromEvents(EventAuth.AuthEventKeys(_invite).Select(full.Get).OfType<MatrixEvent>());
    }

    [Benchmark(Description = "invite decision, auth events only (what the engine loads)")]
    public bool InviteDecision_LoadedState() => EventAuth.Check(_invite, _loadedState).Allowed;

    [Benchmark(Description = "invite decision, whole room state in memory")]
    public bool InviteDecision_FullState() => EventAuth.Check(_invite, _fullState).Allowed;
}
