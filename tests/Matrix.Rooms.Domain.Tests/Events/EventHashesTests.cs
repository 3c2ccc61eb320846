using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using NodaTime;

namespace Matrix.Rooms.Domain.Tests.Events;

/// <summary>
/// Content hashes, reference hashes, event and room IDs, and event signing: the spec's "Cryptographic Test Vectors" →
/// "Event Signing" (appendices), and IDs cross-checked with an independent computation (Python hashlib/json, see the
/// values' comments).
/// </summary>
public class EventHashesTests
{
    // Spec appendices, "Cryptographic Test Vectors" → "Signing Key": SERVER_NAME "domain", KEY_ID "ed25519:1".
    private static Ed25519SigningKey SpecKey() =>
        Ed25519SigningKey.FromSeed(UnpaddedBase64.Decode("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"), "1");

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void The_spec_minimal_event_signs_to_the_published_hash_and_signature()
    {
        var ev = Parse("""
            {"room_id":"!x:domain","sender":"@a:domain","origin":"domain","origin_server_ts":1000000,"signatures":{},
             "hashes":{},"type":"X","content":{},"prev_events":[],"auth_events":[],"depth":3,"unsigned":{"age_ts":1000000}}
            """);
        using var key = SpecKey();

        var signed = EventSigning.Sign(ev, RoomVersion.V1, "domain", key);

        signed["hashes"]!["sha256"]!.GetValue<string>().Should().Be("5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos");
        signed["signatures"]!["domain"]!["ed25519:1"]!.GetValue<string>()
            .Should().Be("KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg");
        signed["unsigned"]!.ToJsonString().Should().Be("""{"age_ts":1000000}""", "unsigned is kept on the event, outside hash and signature");
    }

    [Fact]
    public void The_spec_event_with_redactable_content_signs_its_redacted_form()
    {
        var ev = Parse("""
            {"content":{"body":"Here is the message content"},"event_id":"$0:domain","origin":"domain",
             "origin_server_ts":1000000,"type":"m.room.message","room_id":"!r:domain","sender":"@u:domain",
             "signatures":{},"unsigned":{"age_ts":1000000}}
            """);
        using var key = SpecKey();

        var signed = EventSigning.Sign(ev, RoomVersion.V1, "domain", key);

        signed["hashes"]!["sha256"]!.GetValue<string>().Should().Be("onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g");
        signed["signatures"]!["domain"]!["ed25519:1"]!.GetValue<string>()
            .Should().Be("Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA");
        signed["content"]!["body"]!.GetValue<string>().Should().Be("Here is the message content");
    }

    private static JsonObject Message() => Parse("""
        {"type":"m.room.message","room_id":"!r:x","sender":"@a:x","content":{"body":"hi","msgtype":"m.text"},
         "origin_server_ts":1000,"depth":5,"prev_events":["$p"],"auth_events":["$a","$b"],"unsigned":{"age":1}}
        """);

    [Fact]
    public void Event_ids_are_the_reference_hash_in_standard_base64_in_v3_and_url_safe_from_v4()
    {
        // Independently: sha256 over canonical JSON (Python json.dumps sort_keys, compact) of the redacted event
        // with hashes.sha256 = PhuPn+VTTH/vNZEr6jhFDNp6uKNfujzqWuI11iCBiRI.
        var hashed = EventHashes.WithContentHash(Message());
        hashed["hashes"]!["sha256"]!.GetValue<string>().Should().Be("PhuPn+VTTH/vNZEr6jhFDNp6uKNfujzqWuI11iCBiRI");

        EventHashes.EventId(hashed, RoomVersion.V3).Should().Be("$RpM8TmKguibGirOh2eY+xW+r8yuoasjNw0PNPrThEL4");
        EventHashes.EventId(hashed, RoomVersion.V4).Should().Be("$RpM8TmKguibGirOh2eY-xW-r8yuoasjNw0PNPrThEL4");
        EventHashes.EventId(hashed, RoomVersion.V11).Should().Be("$RpM8TmKguibGirOh2eY-xW-r8yuoasjNw0PNPrThEL4");
    }

    [Fact]
    public void The_reference_hash_ignores_signatures_unsigned_redactable_content_and_a_leftover_event_id()
    {
        var hashed = EventHashes.WithContentHash(Message());
        var id = EventHashes.EventId(hashed, RoomVersion.V10);

        var changed = (JsonObject)hashed.DeepClone();
        changed["signatures"] = Parse("""{"x":{"ed25519:0":"sig"}}""");
        changed["unsigned"] = Parse("""{"age":99}""");
        changed["content"] = Parse("""{"body":"edited"}""");
        changed["event_id"] = "$whatever";
        EventHashes.EventId(changed, RoomVersion.V10).Should().Be(id);

        changed["depth"] = 6;
        EventHashes.EventId(changed, RoomVersion.V10).Should().NotBe(id, "depth is an essential field");
    }

    [Fact]
    public void In_v1_and_v2_event_ids_are_not_computed()
    {
        var act = () => EventHashes.EventId(Message(), RoomVersion.V2);
        act.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void A_v12_room_id_is_the_create_event_id_with_the_bang_sigil()
    {
        var create = Parse("""
            {"type":"m.room.create","sender":"@alice:example.org","state_key":"",
             "content":{"room_version":"12","additional_creators":["@bob:example.org"]},
             "origin_server_ts":1700000000000,"depth":1,"prev_events":[],"auth_events":[]}
            """);
        var hashed = EventHashes.WithContentHash(create);

        hashed["hashes"]!["sha256"]!.GetValue<string>().Should().Be("i2GfJ5Hft4eynQAb1Qs+T1sXzwpd4Zf+WRAOb6dNIs8");
        EventHashes.RoomIdOfCreate(hashed, RoomVersion.V12).Should().Be("!sPi1pkmNWuu5ykKrQd4_vMdBGkOuYeeiRAMniJ1HPKE");
        EventHashes.EventId(hashed, RoomVersion.V12).Should().Be("$sPi1pkmNWuu5ykKrQd4_vMdBGkOuYeeiRAMniJ1HPKE");
        var v11 = () => EventHashes.RoomIdOfCreate(hashed, RoomVersion.V11);
        v11.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void A_signed_event_verifies_and_still_verifies_once_redacted()
    {
        using var key = Ed25519SigningKey.Generate("a");
        var signed = EventSigning.Sign(Message(), RoomVersion.V11, "x", key);

        EventSigning.Verify(signed, RoomVersion.V11, "x", key.KeyId, key.PublicKey).Valid.Should().BeTrue();

        var redacted = Redaction.Redact(signed, RoomVersion.V11);
        var check = EventSigning.Verify(redacted, RoomVersion.V11, "x", key.KeyId, key.PublicKey);
        check.SignatureValid.Should().BeTrue();
        check.ContentHashValid.Should().BeFalse();
        check.UseRedactedCopy.Should().BeTrue();
    }

    [Fact]
    public void Tampering_is_detected_by_the_signature_or_the_content_hash()
    {
        using var key = Ed25519SigningKey.Generate("a");
        using var other = Ed25519SigningKey.Generate("a");
        var signed = EventSigning.Sign(Message(), RoomVersion.V10, "x", key);

        var body = (JsonObject)signed.DeepClone();
        body["content"]!["body"] = "changed";
        EventSigning.Verify(body, RoomVersion.V10, "x", key.KeyId, key.PublicKey)
            .Should().Be(new EventVerification(SignatureValid: true, ContentHashValid: false));

        var sender = (JsonObject)signed.DeepClone();
        sender["sender"] = "@mallory:x";
        EventSigning.Verify(sender, RoomVersion.V10, "x", key.KeyId, key.PublicKey).SignatureValid.Should().BeFalse();

        EventSigning.Verify(signed, RoomVersion.V10, "x", key.KeyId, other.PublicKey).SignatureValid.Should().BeFalse();
        EventSigning.Verify(signed, RoomVersion.V10, "elsewhere", key.KeyId, key.PublicKey).SignatureValid.Should().BeFalse();
    }

    [Fact]
    public void A_matrix_event_becomes_a_pdu_without_event_id_from_v3_and_without_an_empty_room_id()
    {
        var ev = MatrixEvent.Create(EventTypes.Create, "", "@a:x", "", new JsonObject { ["room_version"] = "12" },
            Instant.FromUnixTimeMilliseconds(5), "$random");

        var pdu = Pdu.Of(ev, RoomVersion.V12);
        pdu.ContainsKey("event_id").Should().BeFalse();
        pdu.ContainsKey("room_id").Should().BeFalse();

        Pdu.Of(ev with { RoomId = "!r:x", EventId = "$e:x" }, RoomVersion.V1)["event_id"]!.GetValue<string>().Should().Be("$e:x");
    }

    [Fact]
    public void The_signers_an_event_needs_include_the_event_id_server_only_in_v1_and_v2()
    {
        var ev = Parse("""{"event_id":"$e:other","sender":"@a:x","type":"m.room.message","content":{}}""");

        EventSigning.RequiredSigners(ev, RoomVersion.V1).Should().Equal("x", "other");
        EventSigning.RequiredSigners(ev, RoomVersion.V3).Should().Equal("x");
    }
}
