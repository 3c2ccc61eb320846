using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Conformance;

/// <summary>Answers the spec's OpenAPI files (and text) define, each once found different (issue 11, item 4).</summary>
[Collection(HostCollection.Name)]
public sealed class SpecAnswerTests(HostFixture fixture)
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task A_guest_registration_ignores_the_body_and_picks_its_own_device_id()
    {
        var json = await fixture.PostOkAsync($"{V3}/register?kind=guest", new JsonObject
        {
            ["device_id"] = "CHOSENBYCLIENT", ["username"] = "wouldbeguest", ["inhibit_login"] = true, ["initial_device_display_name"] = "d",
        });
        json["device_id"]!.GetValue<string>().Should().NotBe("CHOSENBYCLIENT");
        json["access_token"].Should().NotBeNull();
        json["user_id"]!.GetValue<string>().Should().NotContain("wouldbeguest");
    }

    [Fact]
    public async Task Messages_and_context_apply_the_room_event_filter()
    {
        var alice = await fixture.RegisterAsync();
        var bob = await fixture.RegisterAsync();
        var room = await fixture.CreateRoomAsync(alice.Token, new JsonObject { ["preset"] = "public_chat" });
        (await fixture.JoinAsync(bob.Token, room)).Status.Should().Be(200);
        var first = await fixture.SendMessageAsync(alice.Token, room, "a");
        await fixture.SendMessageAsync(bob.Token, room, "b");
        var r = $"{V3}/rooms/{HostFixture.Room(room)}";
        string F(string json) => Uri.EscapeDataString(json);

        var (status, body) = await fixture.GetAsync($"{r}/messages?dir=b&filter={F("""{"types":["m.room.message"],"senders":["BOB"],"lazy_load_members":true}""".Replace("BOB", bob.UserId))}", alice.Token);
        status.Should().Be(200);
        body["chunk"]!.AsArray().Should().ContainSingle().Which!["sender"]!.GetValue<string>().Should().Be(bob.UserId);
        body["state"]!.AsArray().Select(s => s!["state_key"]!.GetValue<string>()).Should().Equal(bob.UserId);

        (await fixture.GetAsync($"{r}/messages?dir=b&filter={F("""{"not_types":["m.room.*"]}""")}", alice.Token)).Body["chunk"]!.AsArray().Should().BeEmpty();
        (await fixture.GetAsync($"{r}/messages?dir=b&filter={F("""{"not_senders":["ALICE"]}""".Replace("ALICE", alice.UserId))}", alice.Token)).Body["chunk"]!.AsArray()
            .Select(e => e!["sender"]!.GetValue<string>()).Should().OnlyContain(s => s == bob.UserId);
        (await fixture.GetAsync($"{r}/messages?dir=b&filter={F("""{"limit":2}""")}", alice.Token)).Body["chunk"]!.AsArray().Should().HaveCount(2);
        (await fixture.GetAsync($"{r}/messages?dir=b&filter={F("""{"contains_url":true}""")}", alice.Token)).Body["chunk"]!.AsArray().Should().BeEmpty();

        var (bad, error) = await fixture.GetAsync($"{r}/messages?dir=b&filter={F("{not json")}", alice.Token);
        bad.Should().Be(400);
        error["errcode"].Should().NotBeNull();
        (await fixture.GetAsync($"{r}/context/{Uri.EscapeDataString(first)}?filter={F("[1]")}", alice.Token)).Status.Should().Be(400);

        var (_, context) = await fixture.GetAsync($"{r}/context/{Uri.EscapeDataString(first)}?filter={F("""{"types":["m.room.message"],"lazy_load_members":true}""")}", alice.Token);
        context["events_before"]!.AsArray().Should().BeEmpty();
        context["events_after"]!.AsArray().Should().ContainSingle();
        context["state"]!.AsArray().Should().OnlyContain(s => s!["type"]!.GetValue<string>() == "m.room.member").And.HaveCount(2);
    }

    [Fact]
    public async Task Lazy_loaded_members_of_messages_are_the_senders_as_the_reader_may_see_them()
    {
        var alice = await fixture.RegisterAsync();
        var bob = await fixture.RegisterAsync();
        var carol = await fixture.RegisterAsync();
        var room = await fixture.CreateRoomAsync(alice.Token, new JsonObject { ["preset"] = "public_chat" });
        (await fixture.JoinAsync(bob.Token, room)).Status.Should().Be(200);
        (await fixture.JoinAsync(carol.Token, room)).Status.Should().Be(200);
        await fixture.SendMessageAsync(bob.Token, room, "hello");
        var r = $"{V3}/rooms/{HostFixture.Room(room)}";
        (await fixture.PostAsync($"{r}/leave", new JsonObject(), carol.Token)).Status.Should().Be(200);
        var renamed = await fixture.SetStateAsync(bob.Token, room, "m.room.member", new JsonObject { ["membership"] = "join", ["displayname"] = "Bob Renamed" }, bob.UserId);
        var lazy = Uri.EscapeDataString("""{"types":["m.room.message"],"lazy_load_members":true}""");

        // Joined: the sender's member event now (read by ID); only senders of the page, not the room's other members.
        var (_, now) = await fixture.GetAsync($"{r}/messages?dir=b&filter={lazy}", alice.Token);
        now["state"]!.AsArray().Should().ContainSingle().Which!["event_id"]!.GetValue<string>().Should().Be(renamed);
        // Left: as of the leave (spec: a former member sees the room as it was when they left).
        var (_, then) = await fixture.GetAsync($"{r}/messages?dir=b&filter={lazy}", carol.Token);
        then["chunk"]!.AsArray().Should().ContainSingle();
        var before = then["state"]!.AsArray().Should().ContainSingle().Which!;
        before["event_id"]!.GetValue<string>().Should().NotBe(renamed);
        before["state_key"]!.GetValue<string>().Should().Be(bob.UserId);
    }

    [Fact]
    public async Task Members_membership_and_not_membership_combine_as_or()
    {
        var alice = await fixture.RegisterAsync();
        var bob = await fixture.RegisterAsync();
        var room = await fixture.CreateRoomAsync(alice.Token);
        (await fixture.PostAsync($"{V3}/rooms/{HostFixture.Room(room)}/invite", new JsonObject { ["user_id"] = bob.UserId }, alice.Token)).Status.Should().Be(200);
        var (_, body) = await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/members?membership=invite&not_membership=join", alice.Token);
        // AND would give the invite only; OR gives every member that is invited or not joined: here the same invite…
        body["chunk"]!.AsArray().Select(m => m!["state_key"]!.GetValue<string>()).Should().Equal(bob.UserId);
        // …while join OR not-invite keeps alice (join) and nobody else; AND would too, so check a case that differs:
        (_, body) = await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/members?membership=invite&not_membership=invite", alice.Token);
        body["chunk"]!.AsArray().Should().HaveCount(2, "invite OR not-invite is everyone (AND would be no one)");
    }

    [Fact]
    public async Task Joined_members_omits_unset_profile_fields_and_fills_set_ones()
    {
        var alice = await fixture.RegisterAsync();
        var bob = await fixture.RegisterAsync();
        (await fixture.SendAsync(HttpMethod.Delete, $"{V3}/profile/{Uri.EscapeDataString(bob.UserId)}/displayname", null, bob.Token)).Status.Should().Be(200);
        var room = await fixture.CreateRoomAsync(alice.Token, new JsonObject { ["preset"] = "public_chat" });
        (await fixture.JoinAsync(bob.Token, room)).Status.Should().Be(200);
        await fixture.SetStateAsync(alice.Token, room, "m.room.member",
            new JsonObject { ["membership"] = "join", ["avatar_url"] = "mxc://localhost/pic" }, alice.UserId);
        var (_, body) = await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/joined_members", alice.Token);
        var joined = body["joined"]!.AsObject();
        joined[alice.UserId]!["avatar_url"]!.GetValue<string>().Should().Be("mxc://localhost/pic");
        joined[bob.UserId]!.AsObject().ContainsKey("display_name").Should().BeFalse();
        joined[bob.UserId]!.AsObject().ContainsKey("avatar_url").Should().BeFalse();
    }

    [Fact]
    public async Task State_event_with_format_event_is_the_whole_event()
    {
        var alice = await fixture.RegisterAsync();
        var room = await fixture.CreateRoomAsync(alice.Token, new JsonObject { ["name"] = "N" });
        var (status, body) = await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/state/m.room.name/?format=event", alice.Token);
        status.Should().Be(200);
        body["event_id"].Should().NotBeNull();
        body["content"]!["name"]!.GetValue<string>().Should().Be("N");
        (await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/state/m.room.name/", alice.Token)).Body["name"]!.GetValue<string>().Should().Be("N");
    }

    [Fact]
    public async Task A_known_path_with_the_wrong_method_is_405_unrecognized()
    {
        var alice = await fixture.RegisterAsync();
        var (status, body) = await fixture.SendAsync(HttpMethod.Delete, $"{V3}/createRoom", null, alice.Token);
        status.Should().Be(405);
        body["errcode"]!.GetValue<string>().Should().Be("M_UNRECOGNIZED");
        (await fixture.SendAsync(HttpMethod.Get, $"{V3}/no/such/path", token: alice.Token)).Status.Should().Be(404);
    }

    [Fact]
    public async Task CreateRoom_topic_also_sets_the_m_topic_text_block()
    {
        var alice = await fixture.RegisterAsync();
        var room = await fixture.CreateRoomAsync(alice.Token, new JsonObject { ["topic"] = "About things" });
        var (_, topic) = await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/state/m.room.topic/", alice.Token);
        topic["topic"]!.GetValue<string>().Should().Be("About things");
        var block = topic["m.topic"]!["m.text"]!.AsArray().Should().ContainSingle().Subject!;
        block["mimetype"]!.GetValue<string>().Should().Be("text/plain");
        block["body"]!.GetValue<string>().Should().Be("About things");
    }

    [Fact]
    public async Task Room_initial_sync_visibility_is_the_directorys_not_the_history_visibility()
    {
        var alice = await fixture.RegisterAsync();
        var room = await fixture.CreateRoomAsync(alice.Token, new JsonObject { ["preset"] = "public_chat" });
        await fixture.SetStateAsync(alice.Token, room, "m.room.history_visibility", new JsonObject { ["history_visibility"] = "world_readable" });

        var (status, body) = await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/initialSync", alice.Token);

        status.Should().Be(200);
        body["visibility"]!.GetValue<string>().Should().Be("private", "a public, world-readable room is still not published to /publicRooms");

        (await fixture.SendAsync(HttpMethod.Put, $"{V3}/directory/list/room/{HostFixture.Room(room)}", """{"visibility":"public"}""", alice.Token))
            .Status.Should().Be(200);
        var (_, published) = await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/initialSync", alice.Token);
        published["visibility"]!.GetValue<string>().Should().Be("public", "the room is now published to the directory");
    }
}
