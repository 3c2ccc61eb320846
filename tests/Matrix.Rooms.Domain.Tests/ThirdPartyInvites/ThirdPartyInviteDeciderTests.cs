using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using NodaTime;

namespace Matrix.Rooms.Domain.Tests.ThirdPartyInvites;

/// <summary>
/// The third-party invite decisions on an in-memory room, with fixed ed25519 key vectors: RFC 8032 test 1's key
/// signs for the identity server; test 2's key is a stranger's. The expected signatures were computed with an
/// independent implementation (Python <c>cryptography</c>) over the Canonical JSON <c>{"mxid":…,"token":…}</c>.
/// </summary>
public sealed class ThirdPartyInviteDeciderTests
{
    private const string Room = "!room:example.org";
    private const string Alice = "@alice:example.org";
    private const string Bob = "@bob:example.org";
    private const string Carol = "@carol:example.org";
    private const string Token = "abc123";
    private static readonly Instant Now = Instant.FromUtc(2025, 1, 1, 0, 0);

    /// <summary>RFC 8032 section 7.1, TEST 1.</summary>
    private static readonly byte[] IdentityServerSeed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    private const string IdentityServerPublicKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    private const string IdentityServerSignature = "xLAD8B+tmHrN7fwspuK/xOq8MSUZWXPR3jCceAbY2wi+Mg/eY1nv9pHO+ZDQltKu16roesKq20AMGNsuXpxkBg";

    /// <summary>RFC 8032 section 7.1, TEST 2: a key the invite does not name.</summary>
    private static readonly byte[] StrangerSeed = Convert.FromHexString("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
    private const string StrangerSignature = "0l9JdoI3ZsFF/Vuict3BLEgvKa0h54GZcS2TJ1q1luXH6fAlMBe2FujBAdfd6RFRxEO5Zl9fFh8giUjopLARAA";

    [Fact]
    public void Signing_the_signed_block_with_the_fixed_key_gives_the_reference_signature()
    {
        using var key = Ed25519SigningKey.FromSeed(IdentityServerSeed);
        key.PublicKeyBase64.Should().Be(IdentityServerPublicKey);
        var signed = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = Bob, ["token"] = Token }, "id.example.org", key);
        signed["signatures"]!["id.example.org"]!["ed25519:0"]!.GetValue<string>().Should().Be(IdentityServerSignature);

        using var stranger = Ed25519SigningKey.FromSeed(StrangerSeed);
        Ed25519Signing.SignJson(new JsonObject { ["mxid"] = Bob, ["token"] = Token }, "evil.example", stranger)
            ["signatures"]!["evil.example"]!["ed25519:0"]!.GetValue<string>().Should().Be(StrangerSignature);
    }

    [Fact]
    public void A_signed_block_from_the_identity_server_exchanges_into_a_member_invite_from_the_inviter()
    {
        var state = RoomWithInvite();
        var decided = ThirdPartyInviteDecider.DecideExchange(Exchange(Signed(IdentityServerSignature)), state, ThirdPartyInviteStatus.Pending, "$prev", Now);

        decided.IsSuccess.Should().BeTrue(decided.Error?.ToString());
        var ev = decided.Value;
        (ev.Type, ev.Sender, ev.StateKey).Should().Be((EventTypes.Member, Alice, Bob));
        ev.ContentString("membership").Should().Be("invite");
        ev.Content["third_party_invite"]!["display_name"]!.GetValue<string>().Should().Be("b...@ex...");
        ev.Content["third_party_invite"]!["signed"]!["token"]!.GetValue<string>().Should().Be(Token);
    }

    [Fact]
    public void The_exchange_still_goes_through_when_the_inviter_has_left()
    {
        var state = RoomWithInvite();
        state = state.Apply(MatrixEvent.Create(EventTypes.Member, Room, Alice, Alice, new JsonObject { ["membership"] = "leave" }, Now));
        ThirdPartyInviteDecider.DecideExchange(Exchange(Signed(IdentityServerSignature)), state, ThirdPartyInviteStatus.Pending, null, Now)
            .IsSuccess.Should().BeTrue();
    }

    [Fact]
    public void A_forged_signature_is_refused_by_the_authorization_rules()
    {
        var forged = Signed(UnpaddedBase64.Encode(new byte[64]));
        var decided = ThirdPartyInviteDecider.DecideExchange(Exchange(forged), RoomWithInvite(), ThirdPartyInviteStatus.Pending, null, Now);
        (decided.Error!.Status, decided.Error.ErrCode).Should().Be((403, "M_FORBIDDEN"));
        decided.Error.Error.Should().Contain("No signature");
    }

    [Fact]
    public void A_signature_by_another_key_is_refused()
    {
        var decided = ThirdPartyInviteDecider.DecideExchange(Exchange(Signed(StrangerSignature, "evil.example")), RoomWithInvite(),
            ThirdPartyInviteStatus.Pending, null, Now);
        decided.Error!.ErrCode.Should().Be("M_FORBIDDEN");
    }

    [Fact]
    public void A_signed_block_for_another_user_is_refused()
    {
        var command = Exchange(Signed(IdentityServerSignature)) with { Mxid = Carol };
        ThirdPartyInviteDecider.DecideExchange(command, RoomWithInvite(), ThirdPartyInviteStatus.Pending, null, Now)
            .Error!.ErrCode.Should().Be("M_INVALID_PARAM");
    }

    [Fact]
    public void A_sender_other_than_the_inviter_is_refused()
    {
        var command = Exchange(Signed(IdentityServerSignature)) with { Sender = Carol };
        ThirdPartyInviteDecider.DecideExchange(command, RoomWithInvite(), ThirdPartyInviteStatus.Pending, null, Now)
            .Error!.Error.Should().Contain($"only {Alice}");
    }

    [Fact]
    public void An_exchanged_invite_is_not_exchanged_again()
    {
        var decided = ThirdPartyInviteDecider.DecideExchange(Exchange(Signed(IdentityServerSignature)), RoomWithInvite(),
            ThirdPartyInviteStatus.Exchanged, null, Now);
        (decided.Error!.Status, decided.Error.ErrCode).Should().Be((403, "M_FORBIDDEN"));
        decided.Error.Error.Should().Contain("already been exchanged");
    }

    [Fact]
    public void A_revoked_invite_never_exchanges()
    {
        var state = RoomWithInvite().Apply(
            MatrixEvent.Create(EventTypes.ThirdPartyInvite, Room, Alice, Token, new JsonObject(), Now));
        // Whatever the projection says, the empty content decides; and the rules refuse it too.
        ThirdPartyInviteDecider.DecideExchange(Exchange(Signed(IdentityServerSignature)), state, null, null, Now)
            .Error!.Error.Should().Contain("revoked");
        var draft = ThirdPartyInviteDecider.DraftExchange(Exchange(Signed(IdentityServerSignature)), "", Now);
        EventAuth.Check(draft, state).Rule.Should().Be(AuthRule.ThirdPartyInviteRevoked);
    }

    [Fact]
    public void A_user_already_in_the_room_is_not_invited_again()
    {
        var state = RoomWithInvite().Apply(MatrixEvent.Create(EventTypes.Member, Room, Bob, Bob, new JsonObject { ["membership"] = "join" }, Now));
        ThirdPartyInviteDecider.DecideExchange(Exchange(Signed(IdentityServerSignature)), state, ThirdPartyInviteStatus.Pending, null, Now)
            .Error!.Error.Should().Contain("already in the room");
    }

    [Fact]
    public void The_signing_key_and_its_validity_url_are_found()
    {
        var content = (JsonObject)RoomWithInvite().Get(new StateKey(EventTypes.ThirdPartyInvite, Token))!.Content.DeepClone();
        ThirdPartyInviteDecider.SigningKey(content, Signed(IdentityServerSignature))
            .Should().Be(new InvitePublicKey(IdentityServerPublicKey, "https://id.example.org/_matrix/identity/v2/pubkey/isvalid"));
        ThirdPartyInviteDecider.SigningKey(content, Signed(StrangerSignature, "evil.example")).Should().BeNull();
    }

    [Fact]
    public void The_invite_event_carries_the_keys_and_no_address()
    {
        var invitee = ThirdPartyId.Parse(Media.Email, "bob@example.org").Value;
        var command = Append(invitee, "bo...@ex...");
        var draft = ThirdPartyInviteDecider.DraftInvite(command, Now);
        var decided = ThirdPartyInviteDecider.DecideInvite(command, draft, RoomState(), null);

        decided.IsSuccess.Should().BeTrue(decided.Error?.ToString());
        var content = decided.Value.Content;
        content["public_key"]!.GetValue<string>().Should().Be(IdentityServerPublicKey);
        content["key_validity_url"]!.GetValue<string>().Should().EndWith("/pubkey/isvalid");
        content["public_keys"]!.AsArray().Should().HaveCount(2);
        decided.Value.ToJson().ToJsonString().Should().NotContain("bob@example.org");
    }

    [Fact]
    public void An_invite_whose_display_name_reveals_the_address_is_refused()
    {
        var invitee = ThirdPartyId.Parse(Media.Email, "bob@example.org").Value;
        var command = Append(invitee, "Bob@Example.org");
        ThirdPartyInviteDecider.DecideInvite(command, ThirdPartyInviteDecider.DraftInvite(command, Now), RoomState(), null)
            .Error!.ErrCode.Should().Be("M_INVALID_PARAM");
    }

    [Fact]
    public void The_seed_display_name_must_not_contain_the_address()
    {
        var command = new InviteByThirdPartyId
        {
            RoomId = Room, Sender = Alice, IdServer = "id.example.org", Medium = "email", Address = "bob@example.org",
            DisplayName = "Bob (bob@example.org)",
        };
        ThirdPartyInviteDecider.Validate(command).Error!.ErrCode.Should().Be("M_INVALID_PARAM");
        ThirdPartyInviteDecider.Validate(command with { DisplayName = "A very cheeky monkey" }).IsSuccess.Should().BeTrue();
        ThirdPartyInviteDecider.Validate(command with { IdServer = "not a server!" }).Error!.ErrCode.Should().Be("M_INVALID_PARAM");
        ThirdPartyInviteDecider.Validate(command with { Medium = "carrier-pigeon" }).Error!.ErrCode.Should().Be("M_INVALID_PARAM");
    }

    [Fact]
    public void The_precheck_refuses_inviters_who_may_not_invite()
    {
        var command = new InviteByThirdPartyId
        {
            RoomId = Room, Sender = Carol, IdServer = "id.example.org", Medium = "email", Address = "bob@example.org",
        };
        var precheck = ThirdPartyInviteDecider.Precheck(command, ThirdPartyInviteDecider.DraftPrecheck(command, Now), RoomState());
        (precheck.Error!.Status, precheck.Error.ErrCode).Should().Be((403, "M_FORBIDDEN"));
        precheck.Error.Error.Should().Contain("not in the room");

        ThirdPartyInviteDecider.Precheck(command with { Sender = Alice },
            ThirdPartyInviteDecider.DraftPrecheck(command with { Sender = Alice }, Now), RoomState()).IsSuccess.Should().BeTrue();
    }

    [Fact]
    public void Revocation_needs_a_pending_invite_and_the_invite_level()
    {
        var state = RoomWithInvite();
        var revoke = new RevokeThirdPartyInvite { RoomId = Room, Sender = Alice, Token = Token };
        var decided = ThirdPartyInviteDecider.DecideRevocation(revoke, ThirdPartyInviteDecider.DraftRevocation(revoke, Now), state,
            ThirdPartyInviteStatus.Pending, null);
        decided.Value.Content.Should().BeEmpty();

        var stranger = revoke with { Sender = Carol };
        ThirdPartyInviteDecider.DecideRevocation(stranger, ThirdPartyInviteDecider.DraftRevocation(stranger, Now), state,
            ThirdPartyInviteStatus.Pending, null).Error!.ErrCode.Should().Be("M_FORBIDDEN");

        var unknown = revoke with { Token = "nope" };
        ThirdPartyInviteDecider.DecideRevocation(unknown, ThirdPartyInviteDecider.DraftRevocation(unknown, Now), state, null, null)
            .Error!.Status.Should().Be(404);

        var revoked = state.Apply(decided.Value);
        ThirdPartyInviteDecider.DecideRevocation(revoke, ThirdPartyInviteDecider.DraftRevocation(revoke, Now), revoked,
            ThirdPartyInviteStatus.Revoked, null).Error!.Error.Should().Contain("already revoked");
    }

    private static DictionaryAuthState RoomState() =>
        DictionaryAuthState.FromEvents(CreateRoomDecider.Decide(new CreateRoom { RoomVersion = "10", Creator = Alice, Preset = Presets.PrivateChat }, Room, Now).Value);

    private static DictionaryAuthState RoomWithInvite()
    {
        var invitee = ThirdPartyId.Parse(Media.Email, "bob@example.org").Value;
        var command = Append(invitee, AddressPrivacy.Obfuscate(invitee));
        var state = RoomState();
        return state.Apply(ThirdPartyInviteDecider.DecideInvite(command, ThirdPartyInviteDecider.DraftInvite(command, Now), state, null).Value);
    }

    private static AppendThirdPartyInvite Append(ThirdPartyId invitee, string displayName)
    {
        using var ephemeral = Ed25519SigningKey.FromSeed(StrangerSeed.Reverse().ToArray(), "eph");
        return new AppendThirdPartyInvite
        {
            RoomId = Room, Sender = Alice, Token = Token, DisplayName = displayName, Invitee = invitee, IdServer = "id.example.org",
            PublicKeys =
            [
                new InvitePublicKey(IdentityServerPublicKey, "https://id.example.org/_matrix/identity/v2/pubkey/isvalid"),
                new InvitePublicKey(ephemeral.PublicKeyBase64, "https://id.example.org/_matrix/identity/v2/pubkey/ephemeral/isvalid"),
            ],
        };
    }

    private static JsonObject Signed(string signature, string server = "id.example.org") => new()
    {
        ["mxid"] = Bob, ["token"] = Token,
        ["signatures"] = new JsonObject { [server] = new JsonObject { ["ed25519:0"] = signature } },
    };

    private static ExchangeThirdPartyInvite Exchange(JsonObject signed) =>
        new() { RoomId = Room, Sender = Alice, Mxid = Bob, Signed = signed };
}
