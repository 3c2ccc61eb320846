using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;
using Matrix.Rooms.IdentityServer;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.ThirdPartyInvites;

/// <summary>
/// Every refusal of the third-party invite flow, each checked for its status and errcode and for "nothing appended":
/// bad requests, untrusted / unreachable / hanging / failing identity servers, inviters who may not invite, the rate
/// limit, and on the exchange side forged and wrong-key signatures, token reuse, a key the identity server no longer
/// vouches for, and a <c>key_validity_url</c> on an untrusted host.
/// </summary>
[Collection(ThirdPartyInviteCollection.Name)]
public sealed class ThirdPartyInviteErrorTests(ThirdPartyInviteFixture host)
{
    [Theory]
    [InlineData("""{"medium":"email","address":"a@example.org","id_access_token":"t"}""", "v3", 400, "M_MISSING_PARAM", "id_server")]
    [InlineData("""{"id_server":"localhost","address":"a@example.org","id_access_token":"t"}""", "v3", 400, "M_MISSING_PARAM", "medium")]
    [InlineData("""{"id_server":"localhost","medium":"email","id_access_token":"t"}""", "v3", 400, "M_MISSING_PARAM", "address")]
    [InlineData("""{"id_server":"localhost","medium":"email","address":"a@example.org"}""", "v3", 400, "M_MISSING_PARAM", "id_access_token")]
    [InlineData("""{"id_server":"localhost","medium":"email","address":"a@example.org"}""", "v1", 400, "M_MISSING_PARAM", "display_name")]
    [InlineData("""{"id_server":"localhost","medium":"fax","address":"123456789","id_access_token":"t"}""", "v3", 400, "M_INVALID_PARAM", "medium")]
    [InlineData("""{"id_server":"localhost","medium":"email","address":"not an address","id_access_token":"t"}""", "v3", 400, "M_INVALID_PARAM", "e-mail")]
    [InlineData("""{"id_server":"not a host!","medium":"email","address":"a@example.org","id_access_token":"t"}""", "v3", 400, "M_INVALID_PARAM", "id_server")]
    [InlineData("""{"id_server":"localhost","medium":5,"address":"a@example.org","id_access_token":"t"}""", "v3", 400, "M_BAD_JSON", "medium")]
    public async Task Bad_requests_get_the_matching_matrix_error_and_append_nothing(string body, string form, int status, string errcode, string mentions)
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var before = (await host.EventsAsync(roomId)).Count;
        var url = form == "v1" ? $"/_matrix/client/api/v1/rooms/{Uri.EscapeDataString(roomId)}/invite" : ThirdPartyInviteFixture.InviteUrl(roomId);

        var (actualStatus, json) = await host.SendAsync(HttpMethod.Post, url, body, token);

        (actualStatus, json["errcode"]!.GetValue<string>()).Should().Be((status, errcode));
        json["error"]!.GetValue<string>().Should().Contain(mentions);
        (await host.EventsAsync(roomId)).Should().HaveCount(before);
    }

    [Fact]
    public async Task An_untrusted_identity_server_is_refused_without_any_request()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var before = (await host.EventsAsync(roomId)).Count;

        var (status, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId),
            ThirdPartyInviteFixture.ThirdPartyInvite(ThirdPartyInviteFixture.NewAddress(), token, host.UntrustedProbe.Authority), token);

        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_SERVER_NOT_TRUSTED"));
        host.UntrustedProbe.Connections.Should().Be(0, "no request may leave the Host for an untrusted id_server");
        (await host.EventsAsync(roomId)).Should().HaveCount(before);

        // The same on /account/3pid/bind.
        (status, body) = await host.PostAsync("/_matrix/client/v3/account/3pid/bind", new JsonObject
        {
            ["sid"] = "x", ["client_secret"] = "y", ["id_server"] = host.UntrustedProbe.Authority, ["id_access_token"] = token,
        }, token);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_SERVER_NOT_TRUSTED"));
        host.UntrustedProbe.Connections.Should().Be(0);
    }

    [Theory]
    [InlineData("unreachable.test", 502)]
    [InlineData("slow.test", 504)]
    [InlineData("broken.test", 502)]
    public async Task A_failing_identity_server_is_a_matrix_error_and_nothing_is_appended(string idServer, int status)
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var before = (await host.EventsAsync(roomId)).Count;

        var (actualStatus, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId),
            ThirdPartyInviteFixture.ThirdPartyInvite(ThirdPartyInviteFixture.NewAddress(), token, idServer), token);

        (actualStatus, body["errcode"]!.GetValue<string>()).Should().Be((status, "M_UNKNOWN"));
        body["error"]!.GetValue<string>().Should().Contain(idServer);
        (await host.EventsAsync(roomId)).Should().HaveCount(before);
    }

    [Fact]
    public async Task An_id_access_token_the_identity_server_refuses_is_forbidden_and_appends_nothing()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var before = (await host.EventsAsync(roomId)).Count;
        var (status, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId),
            ThirdPartyInviteFixture.ThirdPartyInvite(ThirdPartyInviteFixture.NewAddress(), "not-a-token"), token);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain("id_access_token");
        (await host.EventsAsync(roomId)).Should().HaveCount(before);
    }

    [Fact]
    public async Task Inviters_who_may_not_invite_are_refused_before_the_identity_server_is_asked()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (_, bobToken) = await host.RegisterAsync();
        var (_, malloryToken) = await host.RegisterAsync();
        // public_chat: the invite level is 50; Bob joins with 0. Mallory is not in the room.
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        (await host.PostAsync($"/_matrix/client/v3/join/{Uri.EscapeDataString(roomId)}", new JsonObject(), bobToken)).Status.Should().Be(200);
        var before = (await host.EventsAsync(roomId)).Count;
        var address = ThirdPartyInviteFixture.NewAddress();

        var (status, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, bobToken), bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain("power level");

        (status, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, malloryToken), malloryToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain("not in the room");

        (await host.EventsAsync(roomId)).Should().HaveCount(before);
        (await host.IdentityQueryAsync<IdentityStoredInvite>()).Should().NotContain(i => i.Address == address, "the identity server was never asked");
    }

    [Fact]
    public async Task Inviting_a_banned_user_by_their_bound_address_is_forbidden()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (carol, carolToken) = await host.RegisterAsync();
        var address = ThirdPartyInviteFixture.NewAddress();
        await host.BindAsync(address, carolToken);
        var roomId = await host.CreateRoomAsync(aliceToken);
        (await host.PostAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/ban", new JsonObject { ["user_id"] = carol }, aliceToken))
            .Status.Should().Be(200);

        var (status, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain(carol).And.Contain("banned");
    }

    [Fact]
    public async Task Too_many_invites_from_one_inviter_are_rate_limited()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        for (var i = 0; i < ThirdPartyInviteFixture.InviteBurst; i++)
            (await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(ThirdPartyInviteFixture.NewAddress(), token), token))
                .Status.Should().Be(200);
        var before = (await host.EventsAsync(roomId)).Count;

        var (status, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId),
            ThirdPartyInviteFixture.ThirdPartyInvite(ThirdPartyInviteFixture.NewAddress(), token), token);

        (status, body["errcode"]!.GetValue<string>()).Should().Be((429, "M_LIMIT_EXCEEDED"));
        body["retry_after_ms"]!.GetValue<long>().Should().BePositive();
        (await host.EventsAsync(roomId)).Should().HaveCount(before);
        // Another inviter is not affected.
        var (_, other) = await host.RegisterAsync();
        var otherRoom = await host.CreateRoomAsync(other);
        (await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(otherRoom), ThirdPartyInviteFixture.ThirdPartyInvite(ThirdPartyInviteFixture.NewAddress(), other), other))
            .Status.Should().Be(200);
    }

    [Fact]
    public async Task A_forged_signature_on_bind_is_refused_and_appends_nothing()
    {
        var (room, token, alice, _, bob, _, _) = await PendingInviteAsync();
        var before = (await host.EventsAsync(room)).Count;
        var signed = new JsonObject
        {
            ["mxid"] = bob, ["token"] = token,
            ["signatures"] = new JsonObject { ["localhost"] = new JsonObject { ["ed25519:0"] = UnpaddedBase64.Encode(new byte[64]) } },
        };

        var (status, body) = await host.PostAsync("/_matrix/federation/v1/3pid/onbind", OnBind(room, alice, bob, signed));

        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain("No signature");
        (await host.EventsAsync(room)).Should().HaveCount(before);
    }

    [Fact]
    public async Task A_signature_by_another_key_is_refused_and_appends_nothing()
    {
        var (room, token, alice, _, bob, _, _) = await PendingInviteAsync();
        var before = (await host.EventsAsync(room)).Count;
        using var stranger = Ed25519SigningKey.Generate();
        var signed = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = bob, ["token"] = token }, "localhost", stranger);

        var (status, body) = await host.SendAsync(HttpMethod.Put, "/_matrix/federation/v1/3pid/onbind", OnBind(room, alice, bob, signed).ToJsonString());

        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        (await host.EventsAsync(room)).Should().HaveCount(before);
    }

    [Fact]
    public async Task A_token_is_exchanged_once_and_a_replay_appends_nothing()
    {
        var (room, _, alice, _, bob, bobToken, address) = await PendingInviteAsync();
        await host.BindAsync(address, bobToken);
        var member = (await host.EventsAsync(room)).OfType<MemberEvent>().Single(m => m.StateKey == bob);
        var genuine = (JsonObject)member.Content["third_party_invite"]!["signed"]!.DeepClone();
        var before = (await host.EventsAsync(room)).Count;

        // The genuine signed block, presented again (as onbind, and as exchange_third_party_invite).
        var (status, body) = await host.PostAsync("/_matrix/federation/v1/3pid/onbind", OnBind(room, alice, bob, genuine));
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain("already been exchanged");

        (status, body) = await host.SendAsync(HttpMethod.Put, $"/_matrix/federation/v1/exchange_third_party_invite/{Uri.EscapeDataString(room)}",
            new JsonObject
            {
                ["type"] = "m.room.member", ["room_id"] = room, ["sender"] = alice, ["state_key"] = bob,
                ["content"] = new JsonObject
                {
                    ["membership"] = "invite",
                    ["third_party_invite"] = new JsonObject { ["display_name"] = "x", ["signed"] = genuine.DeepClone() },
                },
            }.ToJsonString());
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        (await host.EventsAsync(room)).Should().HaveCount(before);
    }

    [Fact]
    public async Task A_revoked_token_is_refused_even_with_the_identity_servers_genuine_signature()
    {
        var (room, token, alice, aliceToken, bob, _, _) = await PendingInviteAsync();
        (await host.PostAsync($"{Features.ThirdPartyInvites.ThirdPartyInviteEndpoints.UnstablePrefix}/rooms/{Uri.EscapeDataString(room)}/third_party_invites/{token}/revoke",
            new JsonObject(), aliceToken)).Status.Should().Be(200);
        var before = (await host.EventsAsync(room)).Count;
        // Signed with the embedded identity server's own key, exactly as a bind would.
        var key = host.Host.Services.GetRequiredService<IdentityKeyStore>().SigningKey;
        var signed = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = bob, ["token"] = token }, "localhost", key);

        var (status, body) = await host.PostAsync("/_matrix/federation/v1/3pid/onbind", OnBind(room, alice, bob, signed));

        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain("revoked");
        (await host.EventsAsync(room)).Should().HaveCount(before);
    }

    [Fact]
    public async Task A_key_the_identity_server_no_longer_vouches_for_is_refused()
    {
        // An invite whose key is not the identity server's: its signature verifies, but pubkey/isvalid says no.
        var (alice, aliceToken) = await host.RegisterAsync();
        var (bob, _) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(aliceToken);
        using var retired = Ed25519SigningKey.Generate();
        const string token = "retiredkeytoken";
        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/state/m.room.third_party_invite/{token}",
            new JsonObject
            {
                ["display_name"] = "b...@ex...", ["public_key"] = retired.PublicKeyBase64,
                ["key_validity_url"] = "http://localhost/_matrix/identity/v2/pubkey/isvalid",
            }.ToJsonString(), aliceToken)).Status.Should().Be(200);
        var before = (await host.EventsAsync(room)).Count;
        var signed = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = bob, ["token"] = token }, "localhost", retired);

        var (status, body) = await host.PostAsync("/_matrix/federation/v1/3pid/onbind", OnBind(room, alice, bob, signed));

        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain("no longer valid");
        (await host.EventsAsync(room)).Should().HaveCount(before);
    }

    [Fact]
    public async Task A_key_validity_url_on_an_untrusted_host_is_not_fetched_and_the_exchange_is_refused()
    {
        var (alice, aliceToken) = await host.RegisterAsync();
        var (bob, _) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(aliceToken);
        using var key = Ed25519SigningKey.Generate();
        const string token = "untrustedurltoken";
        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/state/m.room.third_party_invite/{token}",
            new JsonObject
            {
                ["display_name"] = "b...@ex...", ["public_key"] = key.PublicKeyBase64,
                ["key_validity_url"] = $"http://{host.UntrustedProbe.Authority}/_matrix/identity/v2/pubkey/isvalid",
            }.ToJsonString(), aliceToken)).Status.Should().Be(200);
        var before = (await host.EventsAsync(room)).Count;
        var signed = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = bob, ["token"] = token }, "elsewhere", key);

        var (status, body) = await host.PostAsync("/_matrix/federation/v1/3pid/onbind", OnBind(room, alice, bob, signed));

        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_SERVER_NOT_TRUSTED"));
        host.UntrustedProbe.Connections.Should().Be(0);
        (await host.EventsAsync(room)).Should().HaveCount(before);
    }

    [Fact]
    public async Task Onbind_for_a_user_of_another_server_is_refused()
    {
        var (status, body) = await host.PostAsync("/_matrix/federation/v1/3pid/onbind", new JsonObject
        {
            ["medium"] = "email", ["address"] = "x@example.org", ["mxid"] = "@x:elsewhere.example", ["invites"] = new JsonArray(),
        });
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));
    }

    /// <summary>
    /// Every spelling of a loopback listener that is not on the trusted list — other host forms, ports with a leading
    /// zero, a path, a scheme, user info — is refused before any connection is made (issue 9, suite 4).
    /// </summary>
    [Theory]
    [InlineData("127.0.0.1:{port}")]
    [InlineData("localhost:{port}")]
    [InlineData("LOCALHOST:{port}")]
    [InlineData("localhost.:{port}")]
    [InlineData("[::1]:{port}")]
    [InlineData("[::ffff:127.0.0.1]:{port}")]
    [InlineData("127.1:{port}")]
    [InlineData("2130706433:{port}")]
    [InlineData("0x7f000001:{port}")]
    [InlineData("0177.0.0.1:{port}")]
    [InlineData("127.000.000.001:{port}")]
    [InlineData("127.0.0.1:0{port}")]
    [InlineData("127.0.0.1:{port}/")]
    [InlineData("127.0.0.1:{port}/_matrix/identity/v2")]
    [InlineData("http://127.0.0.1:{port}")]
    [InlineData("user@127.0.0.1:{port}")]
    [InlineData("127.0.0.1:{port}#x")]
    [InlineData("127.0.0.1:{port}?x=1")]
    [InlineData(" 127.0.0.1:{port}")]
    public async Task An_id_server_spelling_of_a_local_listener_is_refused_without_a_connection(string spelling)
    {
        var idServer = spelling.Replace("{port}", host.UntrustedProbe.Port.ToString());
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var before = (await host.EventsAsync(roomId)).Count;

        var (status, body) = await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId),
            ThirdPartyInviteFixture.ThirdPartyInvite(ThirdPartyInviteFixture.NewAddress(), token, idServer), token);
        var (bindStatus, bindBody) = await host.PostAsync("/_matrix/client/v3/account/3pid/bind", new JsonObject
        {
            ["sid"] = "x", ["client_secret"] = "y", ["id_server"] = idServer, ["id_access_token"] = token,
        }, token);

        status.Should().BeOneOf([400, 403], body.ToJsonString());
        body["errcode"]!.GetValue<string>().Should().BeOneOf("M_SERVER_NOT_TRUSTED", "M_INVALID_PARAM");
        bindStatus.Should().BeOneOf([400, 403], bindBody.ToJsonString());
        host.UntrustedProbe.Connections.Should().Be(0, $"no request may leave the Host for '{idServer}'");
        (await host.EventsAsync(roomId)).Should().HaveCount(before);
    }

    [Fact]
    public async Task A_genuine_signed_block_for_one_user_is_refused_for_another_and_when_edited()
    {
        var (room, token, alice, _, bob, _, _) = await PendingInviteAsync();
        var (eve, _) = await host.RegisterAsync();
        var before = (await host.EventsAsync(room)).Count;
        var key = host.Host.Services.GetRequiredService<IdentityKeyStore>().SigningKey;
        var forBob = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = bob, ["token"] = token }, "localhost", key);

        // Bob's block presented for Eve.
        var (status, body) = await host.PostAsync("/_matrix/federation/v1/3pid/onbind", OnBind(room, alice, eve, (JsonObject)forBob.DeepClone()));
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"), body.ToJsonString());

        // Bob's block with its mxid edited to Eve: the signature no longer covers it.
        var edited = (JsonObject)forBob.DeepClone();
        edited["mxid"] = eve;
        (status, body) = await host.PostAsync("/_matrix/federation/v1/3pid/onbind", OnBind(room, alice, eve, edited));
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"), body.ToJsonString());
        (await host.EventsAsync(room)).Should().HaveCount(before);
        (await host.EventsAsync(room)).OfType<MemberEvent>().Should().NotContain(m => m.StateKey == eve);
    }

    [Fact]
    public async Task A_genuine_signed_block_from_one_room_is_refused_in_another()
    {
        var (roomA, tokenA, alice, _, bob, _, _) = await PendingInviteAsync();
        var (roomB, _, _, _, _, _, _) = await PendingInviteAsync();
        var before = (await host.EventsAsync(roomB)).Count;
        var key = host.Host.Services.GetRequiredService<IdentityKeyStore>().SigningKey;
        var signed = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = bob, ["token"] = tokenA }, "localhost", key);

        var (status, body) = await host.PostAsync("/_matrix/federation/v1/3pid/onbind", OnBind(roomB, alice, bob, signed));

        status.Should().BeOneOf([400, 403, 404], body.ToJsonString());
        (await host.EventsAsync(roomB)).Should().HaveCount(before);
        (await host.EventsAsync(roomA)).OfType<MemberEvent>().Should().NotContain(m => m.StateKey == bob, "nothing was presented for room A");
    }

    /// <summary>After a whole invite → validate → bind → join flow, no secret any party used is in the room's events.</summary>
    [Fact]
    public async Task No_secret_of_the_flow_is_in_the_rooms_events()
    {
        var (alice, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(aliceToken);
        var address = ThirdPartyInviteFixture.NewAddress();
        await host.PostOkAsync(ThirdPartyInviteFixture.InviteUrl(room), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken);
        var (sid, clientSecret) = await host.ValidateEmailAsync(address, bobToken);
        var mailToken = await ThirdPartyInviteFixture.MailTokenAsync(host.MailDrop, sid);
        await host.PostOkAsync("/_matrix/client/v3/account/3pid/bind", new JsonObject
        {
            ["sid"] = sid, ["client_secret"] = clientSecret, ["id_server"] = "localhost", ["id_access_token"] = bobToken,
        }, bobToken);
        await host.WaitForInvitesDeliveredAsync(address);
        await host.PostOkAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/join", new JsonObject(), bobToken);

        var events = (await host.EventsAsync(room)).Select(e => e.ToJson().ToJsonString(MatrixJson.Options)).ToList();
        events.Should().Contain(e => e.Contains("\"third_party_invite\""), "the flow ran");
        foreach (var (name, secret) in new[]
                 {
                     ("inviter's token", aliceToken), ("invitee's token", bobToken), ("client_secret", clientSecret), ("sid", sid),
                     ("validation token", mailToken), ("address", address),
                 })
            events.Should().NotContain(e => e.Contains(secret), $"the {name} must not be in any event");
    }

    /// <summary>A room of Alice's with a pending third-party invite for a fresh address; Bob exists but has not bound it.</summary>
    private async Task<(string Room, string Token, string Alice, string AliceToken, string Bob, string BobToken, string Address)> PendingInviteAsync()
    {
        var (alice, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(aliceToken);
        var address = ThirdPartyInviteFixture.NewAddress();
        (await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(room), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken))
            .Status.Should().Be(200);
        var token = (await host.EventsAsync(room)).OfType<ThirdPartyInviteEvent>().Single().StateKey!;
        return (room, token, alice, aliceToken, bob, bobToken, address);
    }

    private static JsonObject OnBind(string room, string sender, string mxid, JsonObject signed) => new()
    {
        ["medium"] = "email", ["address"] = "ignored@example.org", ["mxid"] = mxid,
        ["invites"] = new JsonArray(new JsonObject
        {
            ["medium"] = "email", ["address"] = "ignored@example.org", ["mxid"] = mxid, ["room_id"] = room, ["sender"] = sender,
            ["signed"] = signed,
        }),
    };
}
