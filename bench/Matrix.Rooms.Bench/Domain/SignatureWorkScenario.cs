using System.Diagnostics;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using NodaTime;

namespace Matrix.Rooms.Bench.Domain;

/// <summary>
/// Issue 9, defect 5: what a hostile third-party invite costs the authorization check. Baseline: an exchange invite with
/// one key and one valid signature. Hostile: the m.room.third_party_invite carries 600 public keys and the member event
/// 600 bogus signatures (each event under 64 KiB). Prints both and their ratio; the check's work is bounded by
/// <see cref="Ed25519Signing.MaxSignaturesTried"/> × <see cref="Ed25519Signing.MaxKeysTried"/>.
/// </summary>
public static class SignatureWorkScenario
{
    private const string RoomId = "!room:example.org";
    private const string Alice = "@alice:example.org";
    private const string Bob = "@bob:example.org";

    public static void Run(int iterations)
    {
        using var identity = Ed25519SigningKey.Generate();
        var now = Instant.FromUtc(2026, 12, 1, 0, 0);
        var room = DictionaryAuthState.FromEvents(CreateRoomDecider.Decide(new CreateRoom { Creator = Alice }, RoomId, now).Value);

        var (baselineState, baselineInvite) = Case(room, identity, keys: 0, bogusSignatures: 0, now);
        var (hostileState, hostileInvite) = Case(room, identity, keys: 600, bogusSignatures: 600, now);
        Console.Error.WriteLine($"hostile events: invite {CanonicalJson.Encode(hostileState.Get(new StateKey(EventTypes.ThirdPartyInvite, "tok"))!.ToJson()).Length} bytes, " +
                                $"member {CanonicalJson.Encode(hostileInvite.ToJson()).Length} bytes");

        var version = RoomVersion.Default;
        var baseline = Measure(() => EventAuth.Check(baselineInvite, baselineState, version), iterations);
        var hostile = Measure(() => EventAuth.Check(hostileInvite, hostileState, version), iterations);
        All.BenchMetrics.Record("auth_3pid_check_us", baseline, "us", note: "third-party invite, one key, one valid signature");
        All.BenchMetrics.Record("auth_3pid_hostile_us", hostile, "us", note: "600 keys, 600 bogus signatures");
        All.BenchMetrics.Record("auth_3pid_hostile_ratio", hostile / baseline, "x", note: "auth_3pid_hostile_us ÷ auth_3pid_check_us");
    }

    private static (DictionaryAuthState State, MatrixEvent Invite) Case(DictionaryAuthState room, Ed25519SigningKey identity, int keys,
        int bogusSignatures, Instant now)
    {
        var others = Enumerable.Range(0, keys).Select(_ => UnpaddedBase64.Encode(Ed25519SigningKey.Generate().PublicKey));
        var content = new JsonObject
        {
            ["display_name"] = "b...@e...",
            ["key_validity_url"] = "https://id.example.org/_matrix/identity/v2/pubkey/isvalid",
            // The real key last: a bounded check gives up before it, as it should with 600 keys.
            ["public_keys"] = new JsonArray([.. others.Select(k => (JsonNode)new JsonObject { ["public_key"] = k }),
                new JsonObject { ["public_key"] = identity.PublicKeyBase64 }]),
        };
        var thirdPartyInvite = MatrixEvent.Create(EventTypes.ThirdPartyInvite, RoomId, Alice, "tok", content, now);
        var signed = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = Bob, ["token"] = "tok" }, "id.example.org", identity);
        var signatures = signed["signatures"]!["id.example.org"]!.AsObject();
        var bogus = UnpaddedBase64.Encode(new byte[64]);
        var valid = signatures[identity.KeyId]!.GetValue<string>();
        signatures.Remove(identity.KeyId);
        for (var i = 0; i < bogusSignatures; i++) signatures[$"ed25519:b{i}"] = bogus;
        signatures[identity.KeyId] = valid;
        var invite = MatrixEvent.Create(EventTypes.Member, RoomId, Alice, Bob, new JsonObject
        {
            ["membership"] = "invite",
            ["third_party_invite"] = new JsonObject { ["display_name"] = "b...@e...", ["signed"] = signed },
        }, now);
        return (room.Apply(thirdPartyInvite), invite);
    }

    private static double Measure(Func<AuthDecision> check, int iterations)
    {
        for (var i = 0; i < Math.Min(iterations, 20); i++) check(); // warm up
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++) check();
        return clock.Elapsed.TotalMicroseconds / iterations;
    }
}
