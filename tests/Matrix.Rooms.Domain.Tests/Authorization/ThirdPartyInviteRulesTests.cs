using Matrix.Rooms.Domain.Tests.Support;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using static Matrix.Rooms.Domain.Tests.Support.TestRoom;

namespace Matrix.Rooms.Domain.Tests.Authorization;

/// <summary>
/// Invites carrying <c>third_party_invite</c>: the identity server's <c>signed</c> block, verified with ed25519 against
/// every public key of the m.room.third_party_invite (public_key and public_keys[].public_key).
/// </summary>
public sealed class ThirdPartyInviteRulesTests : IDisposable
{
    private const string Token = "abc123";
    private const string IdentityServer = "id.example.org";

    // A fixed identity-server key (RFC 8032 test 1 seed), so the signatures below are reproducible.
    private readonly Ed25519SigningKey _identityKey = Ed25519SigningKey.FromSeed(
        Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"), "0");
    private readonly Ed25519SigningKey _otherKey = Ed25519SigningKey.Generate("1");

    public void Dispose()
    {
        _identityKey.Dispose();
        _otherKey.Dispose();
    }

    private static JsonObject InviteContent(string? publicKey, params string[] publicKeys)
    {
        var content = new JsonObject
        {
            ["display_name"] = "b...@e...",
            ["key_validity_url"] = "https://id.example.org/_matrix/identity/v2/pubkey/isvalid",
        };
        if (publicKey is not null) content["public_key"] = publicKey;
        if (publicKeys.Length > 0)
            content["public_keys"] = new JsonArray(publicKeys.Select(k => (JsonNode)new JsonObject
            {
                ["public_key"] = k,
                ["key_validity_url"] = "https://id.example.org/_matrix/identity/v2/pubkey/isvalid",
            }).ToArray());
        return content;
    }

    private static TestRoom RoomWithInvite(JsonObject content, string inviteSender = Alice, RoomVersion? version = null)
    {
        var room = Created(version);
        return room.Put(room.StateEvent(EventTypes.ThirdPartyInvite, inviteSender, content, Token));
    }

    private JsonObject Signed(string mxid = Bob, string token = Token, Ed25519SigningKey? key = null) =>
        Ed25519Signing.SignJson(new JsonObject { ["mxid"] = mxid, ["token"] = token }, IdentityServer, key ?? _identityKey);

    private static MatrixEvent Exchange(TestRoom room, JsonObject signed, string sender = Alice, string target = Bob) =>
        room.Member(sender, target, Memberships.Invite, new JsonObject
        {
            ["third_party_invite"] = new JsonObject { ["display_name"] = "b...@e...", ["signed"] = signed },
        });

    [Fact]
    public void A_signed_block_matching_the_single_public_key_is_allowed()
    {
        // gomatrixserverlib reads only public_keys; the spec names public_key too.
        var room = RoomWithInvite(InviteContent(_identityKey.PublicKeyBase64));

        var decision = room.Check(Exchange(room, Signed()));

        decision.Should().Be(AuthDecision.Allow(AuthRule.ThirdPartyInviteAllowed,
            "@alice:example.org invites @bob:example.org, to whom the identity server bound the third-party invite 'abc123'"));
    }

    [Fact]
    public void A_signed_block_matching_any_of_public_keys_is_allowed()
    {
        var room = RoomWithInvite(InviteContent("not a key", _otherKey.PublicKeyBase64, _identityKey.PublicKeyBase64));

        room.Check(Exchange(room, Signed())).Rule.Should().Be(AuthRule.ThirdPartyInviteAllowed);
    }

    [Fact]
    public void Url_safe_and_padded_base64_keys_and_signatures_are_read()
    {
        var urlSafeKey = UnpaddedBase64.EncodeUrlSafe(_identityKey.PublicKey);
        var room = RoomWithInvite(InviteContent(urlSafeKey + "="));
        var signed = Signed();
        var signature = signed["signatures"]![IdentityServer]!["ed25519:0"]!.GetValue<string>();
        signed["signatures"]![IdentityServer]!["ed25519:0"] = signature.Replace('+', '-').Replace('/', '_') + "==";

        room.Check(Exchange(room, signed)).Rule.Should().Be(AuthRule.ThirdPartyInviteAllowed);
    }

    [Fact]
    public void Any_entity_and_any_ed25519_key_id_may_carry_the_signature()
    {
        var room = RoomWithInvite(InviteContent(_identityKey.PublicKeyBase64));
        var signed = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = Bob, ["token"] = Token }, "other.example", _otherKey);
        signed = Ed25519Signing.SignJson(signed, "vector.im", Ed25519SigningKey.FromSeed(_identityKey.ExportSeed(), "auto"));

        room.Check(Exchange(room, signed)).Rule.Should().Be(AuthRule.ThirdPartyInviteAllowed);
    }

    public static TheoryData<string, string> RefusalCases() => new()
    {
        { "banned", AuthRule.ThirdPartyInviteTargetBanned },
        { "no signed", AuthRule.ThirdPartyInviteSignedMissing },
        { "not an object", AuthRule.ThirdPartyInviteSignedMissing },
        { "no token", AuthRule.ThirdPartyInviteSignedIncomplete },
        { "no mxid", AuthRule.ThirdPartyInviteSignedIncomplete },
        { "mxid of someone else", AuthRule.ThirdPartyInviteMxidMismatch },
        { "unknown token", AuthRule.ThirdPartyInviteUnknownToken },
        { "other sender", AuthRule.ThirdPartyInviteSenderMismatch },
        { "wrong key", AuthRule.ThirdPartyInviteSignatureInvalid },
        { "tampered", AuthRule.ThirdPartyInviteSignatureInvalid },
        { "unsigned", AuthRule.ThirdPartyInviteSignatureInvalid },
        { "not ed25519", AuthRule.ThirdPartyInviteSignatureInvalid },
        { "revoked", AuthRule.ThirdPartyInviteRevoked },
    };

    [Theory]
    [MemberData(nameof(RefusalCases))]
    public void Refusals(string situation, string rule)
    {
        var room = RoomWithInvite(situation == "revoked" ? new JsonObject() : InviteContent(_identityKey.PublicKeyBase64));
        room.Joined(Carol);
        var signed = Signed();
        var sender = Alice;
        switch (situation)
        {
            case "banned": room.WithMembership(Bob, Memberships.Ban); break;
            case "no token": signed = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = Bob }, IdentityServer, _identityKey); break;
            case "no mxid": signed = Ed25519Signing.SignJson(new JsonObject { ["token"] = Token }, IdentityServer, _identityKey); break;
            case "mxid of someone else": signed = Signed(mxid: Carol); break;
            case "unknown token": signed = Signed(token: "other"); break;
            case "other sender": sender = Carol; break;
            case "wrong key": signed = Signed(key: _otherKey); break;
            case "tampered": signed["expires"] = 1; break;
            case "unsigned": signed.Remove("signatures"); break;
            case "not ed25519":
                var signature = signed["signatures"]![IdentityServer]!["ed25519:0"]!.GetValue<string>();
                signed["signatures"] = new JsonObject { [IdentityServer] = new JsonObject { ["curve25519:0"] = signature } };
                break;
        }
        var ev = Exchange(room, signed, sender);
        if (situation == "no signed") ev.Content["third_party_invite"] = new JsonObject { ["display_name"] = "b...@e..." };
        if (situation == "not an object") ev.Content["third_party_invite"] = new JsonObject { ["signed"] = "yes" };

        var decision = room.Check(ev);

        decision.Rule.Should().Be(rule, decision.Explanation);
        decision.Allowed.Should().BeFalse();
    }

    [Fact]
    public void The_refusals_name_the_users_and_the_token()
    {
        var room = RoomWithInvite(InviteContent(_identityKey.PublicKeyBase64)).Joined(Carol);

        room.Check(Exchange(room, Signed(), sender: Carol)).Explanation.Should().Be(
            "The third-party invite 'abc123' was sent by @alice:example.org, so only @alice:example.org can turn it into " +
            "an invite of @bob:example.org, not @carol:example.org");
        room.WithMembership(Bob, Memberships.Ban);
        room.Check(Exchange(room, Signed())).Explanation.Should().Be("@bob:example.org is banned from the room");
        var revoked = RoomWithInvite(new JsonObject());
        revoked.Check(Exchange(revoked, Signed())).Explanation.Should().Be(
            "The third-party invite 'abc123' has been revoked, so it cannot be used to invite @bob:example.org");
    }

    [Fact]
    public void The_spec_does_not_ask_the_inviter_to_still_be_in_the_room()
    {
        // The rule checks the sender against the m.room.third_party_invite's sender, who needed to be joined with the
        // invite level when sending it; the later exchange has no membership or power check of its own.
        var room = RoomWithInvite(InviteContent(_identityKey.PublicKeyBase64)).WithMembership(Alice, Memberships.Leave);

        room.Check(Exchange(room, Signed())).Rule.Should().Be(AuthRule.ThirdPartyInviteAllowed);
    }

    [Fact]
    public void A_joined_target_may_still_be_invited_by_third_party_identifier()
    {
        // Only "If target user is banned, reject" applies on this path.
        var room = RoomWithInvite(InviteContent(_identityKey.PublicKeyBase64)).Joined(Bob);

        room.Check(Exchange(room, Signed())).Rule.Should().Be(AuthRule.ThirdPartyInviteAllowed);
    }

    [Fact]
    public void The_invite_token_is_an_auth_event_of_the_exchange()
    {
        var room = RoomWithInvite(InviteContent(_identityKey.PublicKeyBase64));

        EventAuth.AuthEventKeys(Exchange(room, Signed())).Should().Equal(
            EventAuth.CreateKey, EventAuth.PowerLevelsKey, new StateKey(EventTypes.Member, Alice),
            new StateKey(EventTypes.Member, Bob), EventAuth.JoinRulesKey, new StateKey(EventTypes.ThirdPartyInvite, Token));
    }

    [Fact]
    public void Public_keys_lists_every_key_once_and_skips_what_is_not_an_ed25519_key()
    {
        var key = _identityKey.PublicKeyBase64;
        var content = InviteContent(key, key, "c2hvcnQ", UnpaddedBase64.EncodeUrlSafe(_otherKey.PublicKey));
        ((JsonArray)content["public_keys"]!).Add(new JsonObject { ["key_validity_url"] = "https://x" });

        ThirdPartyInviteRules.PublicKeys(content).Should().HaveCount(2);
        ThirdPartyInviteRules.PublicKeys(new JsonObject()).Should().BeEmpty();
    }

    [Fact]
    public void The_gomatrixserverlib_vector_block_verifies_with_its_fixed_key()
    {
        var signed = new JsonObject
        {
            ["token"] = "my_token",
            ["mxid"] = "@u2:a",
            ["signatures"] = new JsonObject
            {
                ["example.tld"] = new JsonObject
                {
                    ["ed25519:0"] = "CibGFS0vX93quJFppsQbYQKJFIwxiYEK87lNmekS/fdetUMXPdR2wwNDd09J1jJ28GCH3GogUTuFDB1ScPFxBg",
                },
            },
        };
        var key = UnpaddedBase64.Decode("mrV51jApZKahGjfMhlevp+QtSSTDKCLaLVCzYc4HELY");

        Ed25519Signing.VerifyAny(signed, [key]).Should().BeTrue();
        Ed25519Signing.VerifyJson(signed, "example.tld", "ed25519:0", key).Should().BeTrue();
        signed["mxid"] = "@u3:a";
        Ed25519Signing.VerifyAny(signed, [key]).Should().BeFalse();
    }
}
