using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.Host.Features.ThirdPartyInvites;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;
using Matrix.Rooms.IdentityServer;

namespace Matrix.Rooms.Host.Tests.ThirdPartyInvites;

/// <summary>
/// The whole flow over HTTP with the embedded identity server on the real PostgreSQL: invite by e-mail → the
/// <c>m.room.third_party_invite</c> → requestToken → the token from the mail drop → submitToken → bind through
/// <c>POST /account/3pid/bind</c> → the exchanged member invite → join. And its variants: the seed's v1 form, an
/// address that is already bound, binding on the identity server directly, an inviter who left, createRoom's
/// <c>invite_3pid</c>, revocation.
/// </summary>
[Collection(ThirdPartyInviteCollection.Name)]
public sealed class ThirdPartyInviteFlowTests(ThirdPartyInviteFixture host)
{
    [Fact]
    public async Task Invite_by_email_then_bind_through_account_3pid_bind_then_join()
    {
        var (alice, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "private_chat", ["name"] = "Tea" });
        var address = ThirdPartyInviteFixture.NewAddress();

        // 1. Alice invites the address: the embedded identity server knows nobody there, so it stores the invite.
        var (status, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken);
        status.Should().Be(200, body.ToJsonString());
        var invite = (await host.EventsAsync(roomId)).OfType<ThirdPartyInviteEvent>().Single();
        invite.Sender.Should().Be(alice);
        var token = invite.StateKey!;
        OpaqueString.IsValid(token).Should().BeTrue();
        invite.ContentString("display_name").Should().Be(AddressPrivacy.Obfuscate(ThirdPartyId.Parse("email", address).Value));
        invite.ContentString("key_validity_url").Should().EndWith("/_matrix/identity/v2/pubkey/isvalid");
        invite.Content["public_keys"]!.AsArray().Should().HaveCount(2);
        var (_, pubkey) = await host.SendAsync(HttpMethod.Get, "/_matrix/identity/v2/pubkey/ed25519:0");
        invite.ContentString("public_key").Should().Be(pubkey["public_key"]!.GetValue<string>());
        (await host.InviteAsync(roomId, token))!.Status.Should().Be(ThirdPartyInviteStatus.Pending);

        // 2. Bob proves the address with the token from the mail drop and binds it through his homeserver.
        await host.BindAsync(address, bobToken);

        // 3. The invite was exchanged for a member invite of Bob, from Alice, carrying the identity server's signature.
        var member = (await host.EventsAsync(roomId)).OfType<MemberEvent>().Single(m => m.StateKey == bob);
        (member.Sender, member.Membership).Should().Be((alice, "invite"));
        var signed = (JsonObject)member.Content["third_party_invite"]!["signed"]!;
        (signed["mxid"]!.GetValue<string>(), signed["token"]!.GetValue<string>()).Should().Be((bob, token));
        member.Content["third_party_invite"]!["display_name"]!.GetValue<string>().Should().Be(invite.ContentString("display_name"));
        Ed25519Signing.VerifyJson(signed, "localhost", "ed25519:0", UnpaddedBase64.Decode(pubkey["public_key"]!.GetValue<string>()))
            .Should().BeTrue();
        var row = (await host.InviteAsync(roomId, token))!;
        (row.Status, row.InviteeUserId, row.MemberEventId).Should().Be((ThirdPartyInviteStatus.Exchanged, bob, member.EventId));

        // 4. Bob joins.
        (await host.PostAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/join", new JsonObject(), bobToken)).Status.Should().Be(200);
        var (_, joined) = await host.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/joined_members", token: aliceToken);
        joined["joined"]!.AsObject().Select(kv => kv.Key).Should().BeEquivalentTo(alice, bob);

        // The room's list of third-party invites shows the invite, exchanged, and the membership it became.
        var (_, listed) = await host.SendAsync(HttpMethod.Get,
            $"{ThirdPartyInviteEndpoints.UnstablePrefix}/rooms/{Uri.EscapeDataString(roomId)}/third_party_invites", token: aliceToken);
        var item = listed["third_party_invites"]!.AsArray().Single()!;
        (item["token"]!.GetValue<string>(), item["status"]!.GetValue<string>(), item["user_id"]!.GetValue<string>(), item["membership"]!.GetValue<string>())
            .Should().Be((token, "exchanged", bob, "join"));

        // Privacy: the address is in no room event and in nothing a member can read.
        var everything = string.Join("\n", (await host.EventsAsync(roomId)).Select(e => e.ToJson().ToJsonString()))
                         + listed.ToJsonString()
                         + string.Join("\n", (await host.QueryAsync<ThirdPartyInvite>()).Select(i => System.Text.Json.JsonSerializer.Serialize(i)))
                         + string.Join("\n", (await host.QueryAsync<RoomStateEntry>()).Select(e => e.Event.ToJson().ToJsonString()));
        everything.Should().NotContain(address);
    }

    [Fact]
    public async Task The_seeds_v1_form_invites_with_its_display_name_checked()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        var address = ThirdPartyInviteFixture.NewAddress();
        var url = $"/_matrix/client/api/v1/rooms/{Uri.EscapeDataString(roomId)}/invite";

        var (status, body) = await host.PostAsync(url, new JsonObject
            { ["id_server"] = "localhost", ["medium"] = "email", ["address"] = address, ["display_name"] = $"My friend <{address.ToUpperInvariant()}>" }, aliceToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));
        body["error"]!.GetValue<string>().Should().Contain("display_name");
        (await host.EventsAsync(roomId)).OfType<ThirdPartyInviteEvent>().Should().BeEmpty();

        (status, body) = await host.PostAsync(url, new JsonObject
            { ["id_server"] = "localhost", ["medium"] = "email", ["address"] = address, ["display_name"] = "A very cheeky monkey" }, aliceToken);
        status.Should().Be(200, body.ToJsonString());
        var invite = (await host.EventsAsync(roomId)).OfType<ThirdPartyInviteEvent>().Single();
        // The room sees the identity server's redacted form, as the current spec has it.
        invite.ContentString("display_name").Should().Be(AddressPrivacy.Obfuscate(ThirdPartyId.Parse("email", address).Value));
    }

    [Fact]
    public async Task An_address_that_is_already_bound_gets_an_ordinary_invite()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (carol, carolToken) = await host.RegisterAsync();
        var address = ThirdPartyInviteFixture.NewAddress();
        await host.BindAsync(address, carolToken);
        var roomId = await host.CreateRoomAsync(aliceToken);

        (await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address.ToUpperInvariant(), aliceToken), aliceToken))
            .Status.Should().Be(200);

        var events = await host.EventsAsync(roomId);
        events.OfType<ThirdPartyInviteEvent>().Should().BeEmpty();
        var member = events.OfType<MemberEvent>().Single(m => m.StateKey == carol);
        member.Membership.Should().Be("invite");
        member.Content.ContainsKey("third_party_invite").Should().BeFalse();

        // Same rules and errors as a user-ID invite: once she is in the room, inviting her again is refused.
        (await host.PostAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/join", new JsonObject(), carolToken)).Status.Should().Be(200);
        var (status, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
    }

    [Fact]
    public async Task Binding_on_the_embedded_identity_server_directly_exchanges_too()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        var address = ThirdPartyInviteFixture.NewAddress();
        (await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken)).Status.Should().Be(200);

        var (sid, secret) = await host.ValidateEmailAsync(address, bobToken);
        var association = await host.PostOkAsync("/_matrix/identity/v2/3pid/bind",
            new JsonObject { ["sid"] = sid, ["client_secret"] = secret, ["mxid"] = bob }, bobToken);
        (association["address"]!.GetValue<string>(), association["mxid"]!.GetValue<string>()).Should().Be((address, bob));
        association["signatures"]!["localhost"]!["ed25519:0"].Should().NotBeNull();

        await host.WaitForInvitesDeliveredAsync(address);
        (await host.EventsAsync(roomId)).OfType<MemberEvent>().Single(m => m.StateKey == bob).Membership.Should().Be("invite");
    }

    [Fact]
    public async Task The_invite_exchanges_even_when_the_inviter_has_left()
    {
        var (alice, aliceToken) = await host.RegisterAsync();
        var (dave, daveToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        (await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), new JsonObject { ["user_id"] = dave }, aliceToken)).Status.Should().Be(200);
        (await host.PostAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/join", new JsonObject(), daveToken)).Status.Should().Be(200);
        var address = ThirdPartyInviteFixture.NewAddress();
        (await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken)).Status.Should().Be(200);
        (await host.PostAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/leave", new JsonObject(), aliceToken)).Status.Should().Be(200);

        await host.BindAsync(address, bobToken);

        var member = (await host.EventsAsync(roomId)).OfType<MemberEvent>().Single(m => m.StateKey == bob);
        (member.Sender, member.Membership).Should().Be((alice, "invite"), "the rules require the third-party invite's sender, joined or not");
        (await host.PostAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/join", new JsonObject(), bobToken)).Status.Should().Be(200);
    }

    [Fact]
    public async Task CreateRoom_invite_3pid_invites_each_address()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var first = ThirdPartyInviteFixture.NewAddress();
        var second = ThirdPartyInviteFixture.NewAddress();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject
        {
            ["preset"] = "private_chat",
            ["invite_3pid"] = new JsonArray(ThirdPartyInviteFixture.ThirdPartyInvite(first, aliceToken), ThirdPartyInviteFixture.ThirdPartyInvite(second, aliceToken)),
        });
        (await host.EventsAsync(roomId)).OfType<ThirdPartyInviteEvent>().Should().HaveCount(2);
    }

    [Fact]
    public async Task CreateRoom_with_an_untrusted_invite_3pid_creates_nothing()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var before = (await host.QueryAsync<RoomHead>()).Count;
        var (status, body) = await host.PostAsync("/_matrix/client/v3/createRoom", new JsonObject
        {
            ["invite_3pid"] = new JsonArray(ThirdPartyInviteFixture.ThirdPartyInvite(ThirdPartyInviteFixture.NewAddress(), aliceToken, host.UntrustedProbe.Authority)),
        }, aliceToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_SERVER_NOT_TRUSTED"));
        (await host.QueryAsync<RoomHead>()).Count.Should().Be(before);
        host.UntrustedProbe.Connections.Should().Be(0);
    }

    [Fact]
    public async Task A_revoked_invite_empties_the_event_and_never_exchanges()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        var address = ThirdPartyInviteFixture.NewAddress();
        (await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken)).Status.Should().Be(200);
        var token = (await host.EventsAsync(roomId)).OfType<ThirdPartyInviteEvent>().Single().StateKey!;
        var revokeUrl = $"{ThirdPartyInviteEndpoints.UnstablePrefix}/rooms/{Uri.EscapeDataString(roomId)}/third_party_invites/{token}/revoke";

        var (status, body) = await host.PostAsync(revokeUrl, new JsonObject(), bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"), "revoking needs the power to send the invite");

        (status, body) = await host.PostAsync(revokeUrl, new JsonObject(), aliceToken);
        status.Should().Be(200, body.ToJsonString());
        var invites = (await host.EventsAsync(roomId)).OfType<ThirdPartyInviteEvent>().ToList();
        invites.Should().HaveCount(2);
        invites[^1].Content.Should().BeEmpty();
        (await host.InviteAsync(roomId, token))!.Status.Should().Be(ThirdPartyInviteStatus.Revoked);
        var (_, state) = await host.SendAsync(HttpMethod.Get,
            $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/state/m.room.third_party_invite/{token}", token: aliceToken);
        state.Should().BeEmpty("the /state reader returns the empty content");

        (status, body) = await host.PostAsync(revokeUrl, new JsonObject(), aliceToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));
        (status, _) = await host.PostAsync(revokeUrl.Replace(token, "no-such-token"), new JsonObject(), aliceToken);
        status.Should().Be(404);

        // Bob binds the address later: the identity server still delivers the invite, the homeserver refuses it.
        var versionBefore = (await host.EventsAsync(roomId)).Count;
        await host.BindAsync(address, bobToken);
        (await host.EventsAsync(roomId)).Should().HaveCount(versionBefore);
        (await host.InviteAsync(roomId, token))!.Status.Should().Be(ThirdPartyInviteStatus.Revoked);
        (await host.IdentityLoadAsync<IdentityStoredInvite>(token))!.DeliveredTo.Should().Be(bob);
    }
}
