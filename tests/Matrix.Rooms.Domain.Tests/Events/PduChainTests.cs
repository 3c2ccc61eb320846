using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using NodaTime;

namespace Matrix.Rooms.Domain.Tests.Events;

/// <summary><see cref="PduChain.Seal(MatrixEvent, IReadOnlyList{MatrixEvent}, RoomVersion, long, ServerSignature)"/> on one JSON tree.</summary>
public class PduChainTests
{
    public static TheoryData<string> Versions() => new(RoomVersion.All.Select(v => v.Id));

    [Theory]
    [MemberData(nameof(Versions))]
    public void Sealing_gives_the_same_event_as_completing_then_signing(string versionId)
    {
        var version = RoomVersion.Get(versionId)!;
        using var key = Ed25519SigningKey.FromSeed(new byte[32], "a_test");
        var signer = new ServerSignature("example.org", key);
        var now = Instant.FromUnixTimeSeconds(1_700_000_000);
        var events = CreateRoomDecider.Decide(new CreateRoom { Creator = "@alice:example.org", RoomVersion = versionId, Name = "N", Topic = "T" },
            "!room:example.org", now).Value.ToList();
        // An event with unsigned data (the guest marker rides there), which the hashes and the signature leave out.
        events.Add(events[^1] with { Unsigned = new JsonObject { ["guest"] = true } });

        var state = DictionaryAuthState.Empty;
        for (var i = 0; i < events.Count; i++)
        {
            var auth = Pdu.AuthEventsFor(events[i], state, version);
            var sealedEvent = PduChain.Seal(events[i], auth, version, i + 1, signer);

            var completed = Pdu.Complete(events[i], version, auth, i + 1);
            var signed = EventSigning.Sign(Pdu.Of(completed, version), version, signer.ServerName, signer.Key);
            signed["event_id"] = completed.EventId;
            signed["room_id"] = completed.RoomId;
            var reference = MatrixEvent.FromJson(signed);

            CanonicalJson.EncodeToString(sealedEvent.ToJson()).Should().Be(CanonicalJson.EncodeToString(reference.ToJson()), $"event {i} in v{versionId}");
            EventSigning.Verify(Pdu.Of(sealedEvent, version), version, signer.ServerName, key.KeyId, key.PublicKey).Valid.Should().BeTrue();
            state = state.Apply(sealedEvent);
        }
    }

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    public void In_v1_and_v2_prev_events_pairs_carry_the_previous_events_reference_hash(string versionId)
    {
        // Spec room versions 1–2, event format: prev_events is a list of [event_id, {"sha256": reference hash}] pairs.
        var version = RoomVersion.Get(versionId)!;
        using var key = Ed25519SigningKey.FromSeed(new byte[32], "a_test");
        var signer = new ServerSignature("example.org", key);
        var now = Instant.FromUnixTimeSeconds(1_700_000_000);
        var room = PduChain.Seal(CreateRoomDecider.Decide(new CreateRoom { Creator = "@alice:example.org", RoomVersion = versionId }, "!room:example.org", now).Value,
            DictionaryAuthState.Empty, version, 0, signer);

        for (var i = 1; i < room.Count; i++)
            PrevHash(room[i]).Should().Be(UnpaddedBase64.Encode(EventHashes.ReferenceHash(Pdu.Of(room[i - 1], version), version)), $"event {i} follows event {i - 1}");

        // A later write: its first event follows the stored last event, whose hash the room's head keeps.
        var state = DictionaryAuthState.FromEvents(room);
        var topic = new SetRoomState { RoomId = "!room:example.org", Sender = "@alice:example.org", EventType = "m.room.topic", StateKey = "", Content = new JsonObject { ["topic"] = "t" } };
        var decided = RoomDecider.Decide(topic, RoomDecider.Draft(topic, now), state, room[^1].EventId).Value;
        PrevHash(decided).Should().BeNull("the decider knows only the ID: the hash is added when the event is sealed");
        var lastHash = PduChain.ReferenceHashOf(room[^1], version);
        var next = PduChain.Seal([decided], state, version, room.Count, signer, lastHash).Single();
        ((JsonArray)next.PrevEvents![0]!)[0]!.GetValue<string>().Should().Be(room[^1].EventId);
        PrevHash(next).Should().Be(lastHash);
        EventHashes.ContentHashMatches(Pdu.Of(next, version)).Should().BeTrue("the hash is in place before the content hash is taken");
    }

    [Fact]
    public void From_v3_prev_events_are_plain_event_ids()
    {
        var version = RoomVersion.Get("3")!;
        using var key = Ed25519SigningKey.FromSeed(new byte[32], "a_test");
        var room = PduChain.Seal(CreateRoomDecider.Decide(new CreateRoom { Creator = "@alice:example.org", RoomVersion = "3" }, "!room:example.org",
            Instant.FromUnixTimeSeconds(1_700_000_000)).Value, DictionaryAuthState.Empty, version, 0, new ServerSignature("example.org", key));
        room.Skip(1).Should().AllSatisfy(ev => ev.PrevEvents!.Single()!.GetValue<string>().Should().StartWith("$"));
        PduChain.ReferenceHashOf(room[^1], version).Should().BeNull();
    }

    private static string? PrevHash(MatrixEvent ev) =>
        ev.PrevEvents is { Count: 1 } prev && prev[0] is JsonArray { Count: 2 } pair && pair[1] is JsonObject hashes
            ? hashes["sha256"]?.GetValue<string>() : throw new InvalidOperationException("not a v1–v2 pair");
}
