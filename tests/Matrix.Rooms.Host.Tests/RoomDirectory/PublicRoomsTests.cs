using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.RoomDirectory;

/// <summary>
/// Spec "Published room directory" (list_public_rooms.yaml): <c>GET/POST /publicRooms</c>, <c>GET/PUT
/// /directory/list/room/{roomId}</c> and <c>createRoom</c>'s <c>visibility</c>. The directory is shared by every test of
/// the collection, so each test finds its own rooms by a search term only they carry.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class PublicRoomsTests(HostFixture host)
{
    private const string PublicRooms = "/_matrix/client/v3/publicRooms";
    private static string Visibility(string roomId) => $"/_matrix/client/v3/directory/list/room/{HostFixture.Room(roomId)}";
    private static string NewTag() => $"tag{Guid.NewGuid():N}";

    private async Task<JsonObject> SearchAsync(string token, string term, int? limit = null, string? since = null, JsonArray? roomTypes = null)
    {
        var filter = new JsonObject { ["generic_search_term"] = term };
        if (roomTypes is not null) filter["room_types"] = roomTypes;
        var body = new JsonObject { ["filter"] = filter };
        if (limit is { } l) body["limit"] = l;
        if (since is not null) body["since"] = since;
        var (status, answer) = await host.PostAsync(PublicRooms, body, token);
        status.Should().Be(200, answer.ToJsonString());
        return answer;
    }

    private static List<string> RoomIds(JsonObject page) => page["chunk"]!.AsArray().Select(c => c!["room_id"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task A_room_created_public_is_listed_with_the_fields_the_spec_names()
    {
        var (_, token) = await host.RegisterAsync();
        var (_, joinerToken) = await host.RegisterAsync();
        var tag = NewTag();
        var roomId = await host.CreateRoomAsync(token, new JsonObject
        {
            ["visibility"] = "public", ["preset"] = "public_chat", ["name"] = $"Cheese {tag}", ["topic"] = "Tasty", ["room_alias_name"] = tag,
        });
        await host.SetStateAsync(token, roomId, "m.room.avatar", new JsonObject { ["url"] = "mxc://localhost/cheddar" });
        (await host.JoinAsync(joinerToken, roomId)).Status.Should().Be(200);

        var (status, visibility) = await host.SendAsync(HttpMethod.Get, Visibility(roomId));
        (status, visibility["visibility"]!.GetValue<string>()).Should().Be((200, "public"), "the lookup needs no access token");

        var page = await SearchAsync(token, tag.ToUpperInvariant());
        var chunk = page["chunk"]!.AsArray().Should().ContainSingle().Subject!.AsObject();
        chunk["room_id"]!.GetValue<string>().Should().Be(roomId);
        chunk["name"]!.GetValue<string>().Should().Be($"Cheese {tag}");
        chunk["topic"]!.GetValue<string>().Should().Be("Tasty");
        chunk["canonical_alias"]!.GetValue<string>().Should().Be($"#{tag}:localhost");
        chunk["avatar_url"]!.GetValue<string>().Should().Be("mxc://localhost/cheddar");
        chunk["num_joined_members"]!.GetValue<int>().Should().Be(2);
        chunk["join_rule"]!.GetValue<string>().Should().Be("public");
        chunk["world_readable"]!.GetValue<bool>().Should().BeFalse();
        chunk["guest_can_join"]!.GetValue<bool>().Should().BeFalse();
        chunk.ContainsKey("room_type").Should().BeFalse();
        page["total_room_count_estimate"]!.GetValue<int>().Should().BeGreaterThanOrEqualTo(1);
        page.ContainsKey("next_batch").Should().BeFalse("nothing follows");
        page.ContainsKey("prev_batch").Should().BeFalse("this is the first page");

        // A change of state shows at once: the chunk is read from the current state.
        await host.SetStateAsync(token, roomId, "m.room.history_visibility", new JsonObject { ["history_visibility"] = "world_readable" });
        await host.SetStateAsync(token, roomId, "m.room.guest_access", new JsonObject { ["guest_access"] = "can_join" });
        var after = (await SearchAsync(token, tag))["chunk"]![0]!;
        after["world_readable"]!.GetValue<bool>().Should().BeTrue();
        after["guest_can_join"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task A_room_is_private_until_published_and_only_a_member_with_the_power_may_change_it()
    {
        var (_, ownerToken) = await host.RegisterAsync();
        var (_, memberToken) = await host.RegisterAsync();
        var (_, outsiderToken) = await host.RegisterAsync();
        var tag = NewTag();
        var roomId = await host.CreateRoomAsync(ownerToken, new JsonObject { ["preset"] = "public_chat", ["name"] = tag });
        (await host.JoinAsync(memberToken, roomId)).Status.Should().Be(200);

        (await host.SendAsync(HttpMethod.Get, Visibility(roomId))).Body["visibility"]!.GetValue<string>().Should().Be("private");
        RoomIds(await SearchAsync(ownerToken, tag)).Should().BeEmpty("createRoom without visibility makes a private room");

        var (memberStatus, memberBody) = await host.SendAsync(HttpMethod.Put, Visibility(roomId), """{"visibility":"public"}""", memberToken);
        (memberStatus, memberBody["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"), "a member at level 0 may not send m.room.canonical_alias");
        (await host.SendAsync(HttpMethod.Put, Visibility(roomId), """{"visibility":"public"}""", outsiderToken)).Status.Should().Be(403, "not in the room");

        (await host.SendAsync(HttpMethod.Put, Visibility(roomId), "{}", ownerToken)).Status.Should().Be(200, "visibility defaults to public");
        RoomIds(await SearchAsync(ownerToken, tag)).Should().Equal(roomId);
        (await host.SendAsync(HttpMethod.Put, Visibility(roomId), "{}", ownerToken)).Status.Should().Be(200, "no change needed is fine too");

        (await host.SendAsync(HttpMethod.Put, Visibility(roomId), """{"visibility":"private"}""", ownerToken)).Status.Should().Be(200);
        RoomIds(await SearchAsync(ownerToken, tag)).Should().BeEmpty();
        (await host.SendAsync(HttpMethod.Get, Visibility(roomId))).Body["visibility"]!.GetValue<string>().Should().Be("private");

        var (bad, badBody) = await host.SendAsync(HttpMethod.Put, Visibility(roomId), """{"visibility":"hidden"}""", ownerToken);
        (bad, badBody["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));
        var unknown = $"!nosuchroom{Guid.NewGuid():N}:localhost";
        (await host.SendAsync(HttpMethod.Get, Visibility(unknown))).Body["errcode"]!.GetValue<string>().Should().Be("M_NOT_FOUND");
        (await host.SendAsync(HttpMethod.Put, Visibility(unknown), "{}", ownerToken)).Status.Should().Be(404);
    }

    [Fact]
    public async Task Pages_follow_next_batch_forward_and_prev_batch_back()
    {
        var (_, token) = await host.RegisterAsync();
        var tag = NewTag();
        var rooms = new List<string>();
        for (var i = 0; i < 5; i++)
            rooms.Add(await host.CreateRoomAsync(token, new JsonObject { ["visibility"] = "public", ["name"] = $"{tag} {i}" }));

        var first = await SearchAsync(token, tag, limit: 2);
        var second = await SearchAsync(token, tag, limit: 2, since: first["next_batch"]!.GetValue<string>());
        var third = await SearchAsync(token, tag, limit: 2, since: second["next_batch"]!.GetValue<string>());
        RoomIds(first).Concat(RoomIds(second)).Concat(RoomIds(third)).Should().BeEquivalentTo(rooms).And.OnlyHaveUniqueItems();
        RoomIds(third).Should().ContainSingle();
        third.ContainsKey("next_batch").Should().BeFalse();
        first.ContainsKey("prev_batch").Should().BeFalse();
        third["total_room_count_estimate"]!.GetValue<int>().Should().BeGreaterThanOrEqualTo(5);

        var back = await SearchAsync(token, tag, limit: 2, since: third["prev_batch"]!.GetValue<string>());
        RoomIds(back).Should().Equal(RoomIds(second));
        var backAgain = await SearchAsync(token, tag, limit: 2, since: back["prev_batch"]!.GetValue<string>());
        RoomIds(backAgain).Should().Equal(RoomIds(first));
        backAgain.ContainsKey("prev_batch").Should().BeFalse("the first page again");
        backAgain["next_batch"].Should().NotBeNull();
    }

    [Fact]
    public async Task The_GET_form_needs_no_token_and_refuses_what_it_cannot_answer()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token, new JsonObject { ["visibility"] = "public" });

        var (status, page) = await host.SendAsync(HttpMethod.Get, $"{PublicRooms}?limit=1");
        status.Should().Be(200);
        page["chunk"]!.AsArray().Should().HaveCount(1);
        var next = page["next_batch"]?.GetValue<string>();
        if (next is not null)
            (await host.SendAsync(HttpMethod.Get, $"{PublicRooms}?limit=1&since={Uri.EscapeDataString(next)}")).Body["prev_batch"].Should().NotBeNull();
        (await host.SendAsync(HttpMethod.Get, $"{PublicRooms}?limit=100000")).Body["chunk"]!.AsArray()
            .Select(c => c!["room_id"]!.GetValue<string>()).Should().Contain(roomId);
        (await host.SendAsync(HttpMethod.Get, $"{PublicRooms}?server=localhost")).Status.Should().Be(200, "this server, by name");

        var (remote, remoteBody) = await host.SendAsync(HttpMethod.Get, $"{PublicRooms}?server=elsewhere.example");
        (remote, remoteBody["errcode"]!.GetValue<string>()).Should().Be((502, "M_UNKNOWN"), "no federation: another server's directory cannot be fetched");
        (await host.PostAsync($"{PublicRooms}?server=elsewhere.example", new JsonObject(), token)).Status.Should().Be(502);
        (await host.SendAsync(HttpMethod.Get, $"{PublicRooms}?since=garbage")).Body["errcode"]!.GetValue<string>().Should().Be("M_INVALID_PARAM");
        (await host.SendAsync(HttpMethod.Get, $"{PublicRooms}?limit=-1")).Status.Should().Be(400);
        (await host.PostAsync(PublicRooms, new JsonObject { ["limit"] = "ten" }, token)).Body["errcode"]!.GetValue<string>().Should().Be("M_BAD_JSON");
        (await host.SendAsync(HttpMethod.Post, PublicRooms, "{}")).Status.Should().Be(401, "the POST form needs an access token");
    }

    [Fact]
    public async Task Room_types_filter_spaces_and_rooms_without_a_type()
    {
        var (_, token) = await host.RegisterAsync();
        var tag = NewTag();
        var space = await host.CreateRoomAsync(token, new JsonObject
        {
            ["visibility"] = "public", ["name"] = $"{tag} space", ["creation_content"] = new JsonObject { ["type"] = "m.space" },
        });
        var room = await host.CreateRoomAsync(token, new JsonObject { ["visibility"] = "public", ["name"] = $"{tag} room" });

        RoomIds(await SearchAsync(token, tag, roomTypes: new JsonArray("m.space"))).Should().Equal(space);
        RoomIds(await SearchAsync(token, tag, roomTypes: new JsonArray((JsonNode?)null))).Should().Equal(room);
        RoomIds(await SearchAsync(token, tag, roomTypes: new JsonArray((JsonNode?)null, "m.space"))).Should().BeEquivalentTo([space, room]);
        (await SearchAsync(token, tag, roomTypes: new JsonArray("m.space")))["chunk"]![0]!["room_type"]!.GetValue<string>().Should().Be("m.space");
    }
}
