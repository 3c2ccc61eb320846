using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Profile;

[Collection(HostCollection.Name)]
public sealed class ProfileTests(HostFixture host)
{
    private static string P(string userId) => Uri.EscapeDataString(userId);

    private async Task<JsonObject> MemberContentAsync(string token, string roomId, string userId)
    {
        var (status, body) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/state/m.room.member/{P(userId)}", token);
        status.Should().Be(200, body.ToJsonString());
        return body;
    }

    [Fact]
    public async Task A_new_account_is_named_by_its_localpart_and_joins_rooms_under_that_name()
    {
        var localpart = "prof" + Guid.NewGuid().ToString("N")[..10];
        var (alice, token) = await host.RegisterAsync(localpart);
        var (_, bob) = await host.RegisterAsync();

        var (status, profile) = await host.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/profile/{P(alice)}");
        status.Should().Be(200, "profiles are readable without a token");
        profile["displayname"]!.GetValue<string>().Should().Be(localpart);

        var room = await host.CreateRoomAsync(bob, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(token, room)).Status.Should().Be(200);
        (await MemberContentAsync(bob, room, alice))["displayname"]!.GetValue<string>().Should().Be(localpart);

        // The creator's own join, made by createRoom, carries the name too (nheko showed a creator by user ID).
        var own = await host.CreateRoomAsync(token);
        (await MemberContentAsync(token, own, alice))["displayname"]!.GetValue<string>().Should().Be(localpart);
    }

    [Fact]
    public async Task A_new_display_name_and_avatar_reach_the_member_event_of_every_joined_room_and_not_the_rooms_left()
    {
        var (alice, token) = await host.RegisterAsync();
        var (_, bob) = await host.RegisterAsync();
        var joined = await host.CreateRoomAsync(bob, new JsonObject { ["preset"] = "public_chat" });
        var own = await host.CreateRoomAsync(token);
        var left = await host.CreateRoomAsync(bob, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(token, joined)).Status.Should().Be(200);
        (await host.JoinAsync(token, left)).Status.Should().Be(200);
        await host.PostOkAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(left)}/leave", new JsonObject(), token);
        var leftVersion = await host.StreamVersionAsync(left);

        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/profile/{P(alice)}/displayname", """{"displayname":"Alice A."}""", token))
            .Status.Should().Be(200);
        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/profile/{P(alice)}/avatar_url", """{"avatar_url":"mxc://example.org/abc"}""", token))
            .Status.Should().Be(200);

        (await host.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/profile/{P(alice)}/displayname")).Body["displayname"]!.GetValue<string>()
            .Should().Be("Alice A.");
        foreach (var room in new[] { joined, own })
        {
            var member = await MemberContentAsync(token, room, alice);
            member["membership"]!.GetValue<string>().Should().Be("join");
            member["displayname"]!.GetValue<string>().Should().Be("Alice A.");
            member["avatar_url"]!.GetValue<string>().Should().Be("mxc://example.org/abc");
        }
        var joinedMembers = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(joined)}/joined_members", bob);
        joinedMembers.Body["joined"]![alice]!["display_name"]!.GetValue<string>().Should().Be("Alice A.");
        (await host.StreamVersionAsync(left)).Should().Be(leftVersion, "a room the user left gets no member event");

        (await host.SendAsync(HttpMethod.Delete, $"/_matrix/client/v3/profile/{P(alice)}/displayname", null, token)).Status.Should().Be(200);
        (await host.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/profile/{P(alice)}/displayname")).Status.Should().Be(404);
        (await MemberContentAsync(token, joined, alice)).ContainsKey("displayname").Should().BeFalse();
    }

    [Fact]
    public async Task Nobody_changes_another_users_profile_and_bad_values_are_refused_with_nothing_stored()
    {
        var (alice, token) = await host.RegisterAsync();
        var (_, mallory) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(token);
        var version = await host.StreamVersionAsync(room);

        var forbidden = await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/profile/{P(alice)}/displayname", """{"displayname":"pwned"}""", mallory);
        (forbidden.Status, forbidden.Body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/profile/{P(alice)}/displayname", """{"displayname":7}""", token))
            .Body["errcode"]!.GetValue<string>().Should().Be("M_BAD_JSON");
        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/profile/{P(alice)}/displayname", "{}", token))
            .Body["errcode"]!.GetValue<string>().Should().Be("M_MISSING_PARAM");
        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/profile/{P(alice)}/displayname",
            new JsonObject { ["displayname"] = new string('x', 257) }.ToJsonString(), token)).Body["errcode"]!.GetValue<string>().Should().Be("M_INVALID_PARAM");
        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/profile/{P(alice)}/avatar_url", """{"avatar_url":"https://x/y.png"}""", token))
            .Body["errcode"]!.GetValue<string>().Should().Be("M_INVALID_PARAM");

        (await host.StreamVersionAsync(room)).Should().Be(version);
        (await host.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/profile/{P(alice)}")).Body["displayname"]!.GetValue<string>()
            .Should().Be(alice[1..alice.IndexOf(':')]);
        (await host.SendAsync(HttpMethod.Get, "/_matrix/client/v3/profile/%40nobody%3Alocalhost")).Body["errcode"]!.GetValue<string>()
            .Should().Be("M_NOT_FOUND");
    }

    [Fact]
    public async Task A_guest_may_set_a_display_name_but_not_an_avatar()
    {
        var (guest, token) = await host.RegisterGuestAsync();
        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/profile/{P(guest)}/displayname", """{"displayname":"Visitor"}""", token))
            .Status.Should().Be(200);
        var avatar = await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/profile/{P(guest)}/avatar_url", """{"avatar_url":"mxc://a/b"}""", token);
        (avatar.Status, avatar.Body["errcode"]!.GetValue<string>()).Should().Be((403, "M_GUEST_ACCESS_FORBIDDEN"));
        var profile = (await host.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/profile/{P(guest)}")).Body;
        profile["displayname"]!.GetValue<string>().Should().Be("Visitor");
        profile.ContainsKey("avatar_url").Should().BeFalse();
    }
}
