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
}
