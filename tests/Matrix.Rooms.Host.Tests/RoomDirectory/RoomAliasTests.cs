using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.RoomDirectory;

/// <summary>
/// Spec "Room aliases" (directory.yaml): <c>PUT/GET/DELETE /directory/room/{roomAlias}</c>, <c>GET /rooms/{roomId}/aliases</c>,
/// <c>createRoom</c>'s <c>room_alias_name</c>, and joining or knocking by alias.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class RoomAliasTests(HostFixture host)
{
    private static string Directory(string alias) => $"/_matrix/client/v3/directory/room/{Uri.EscapeDataString(alias)}";
    private static string NewAlias() => $"#a{Guid.NewGuid():N}:localhost";

    [Fact]
    public async Task An_alias_is_created_resolved_listed_taken_once_and_deleted()
    {
        var (_, token) = await host.RegisterAsync();
        var (_, otherToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var otherRoom = await host.CreateRoomAsync(otherToken);
        var alias = NewAlias();

        (await host.SendAsync(HttpMethod.Put, Directory(alias), new JsonObject { ["room_id"] = roomId }.ToJsonString(), token)).Status.Should().Be(200);

        var (status, resolved) = await host.SendAsync(HttpMethod.Get, Directory(alias));
        status.Should().Be(200, "the lookup needs no access token");
        resolved["room_id"]!.GetValue<string>().Should().Be(roomId);
        resolved["servers"]!.AsArray().Select(s => s!.GetValue<string>()).Should().Equal("localhost");

        var (listed, aliases) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/aliases", token);
        listed.Should().Be(200);
        aliases["aliases"]!.AsArray().Select(a => a!.GetValue<string>()).Should().Equal(alias);

        var (taken, takenBody) = await host.SendAsync(HttpMethod.Put, Directory(alias), new JsonObject { ["room_id"] = otherRoom }.ToJsonString(), otherToken);
        (taken, takenBody["errcode"]!.GetValue<string>()).Should().Be((409, "M_UNKNOWN"));

        var (forbidden, _) = await host.SendAsync(HttpMethod.Delete, Directory(alias), token: otherToken);
        forbidden.Should().Be(403, "neither its creator nor an admin of the room");
        (await host.SendAsync(HttpMethod.Delete, Directory(alias), token: token)).Status.Should().Be(200);
        (await host.SendAsync(HttpMethod.Get, Directory(alias))).Status.Should().Be(404);
        (await host.SendAsync(HttpMethod.Delete, Directory(alias), token: token)).Status.Should().Be(404);
    }

    [Fact]
    public async Task A_room_admin_may_delete_an_alias_someone_else_created()
    {
        var (_, adminToken) = await host.RegisterAsync();
        var (_, memberToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(adminToken, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(memberToken, roomId)).Status.Should().Be(200);
        var alias = NewAlias();
        (await host.SendAsync(HttpMethod.Put, Directory(alias), new JsonObject { ["room_id"] = roomId }.ToJsonString(), memberToken)).Status.Should().Be(200);

        (await host.SendAsync(HttpMethod.Delete, Directory(alias), token: adminToken)).Status.Should().Be(200);
    }

    [Theory]
    [InlineData("#noserver")]
    [InlineData("nohash:localhost")]
    [InlineData("#a b:localhost")]
    [InlineData("#elsewhere:example.org")]
    public async Task Invalid_or_foreign_aliases_are_refused_with_400(string alias)
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var (status, body) = await host.SendAsync(HttpMethod.Put, Directory(alias), new JsonObject { ["room_id"] = roomId }.ToJsonString(), token);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));
        (await host.SendAsync(HttpMethod.Get, Directory(alias))).Status.Should().BeOneOf(400, 404);
    }

    [Fact]
    public async Task Create_room_with_room_alias_name_reserves_the_alias_and_sends_the_canonical_alias_event()
    {
        var (_, token) = await host.RegisterAsync();
        var name = $"r{Guid.NewGuid():N}";
        var roomId = await host.CreateRoomAsync(token, new JsonObject { ["room_alias_name"] = name, ["preset"] = "public_chat" });

        var (status, resolved) = await host.SendAsync(HttpMethod.Get, Directory($"#{name}:localhost"));
        status.Should().Be(200);
        resolved["room_id"]!.GetValue<string>().Should().Be(roomId);
        var (_, canonical) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/state/m.room.canonical_alias/", token);
        canonical["alias"]!.GetValue<string>().Should().Be($"#{name}:localhost");

        // Spec order: create, join, power levels, canonical alias, then the preset's events.
        var (_, state) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/messages?dir=f&limit=10", token);
        state["chunk"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).Take(5).Should()
            .Equal("m.room.create", "m.room.member", "m.room.power_levels", "m.room.canonical_alias", "m.room.join_rules");

        var (_, otherToken) = await host.RegisterAsync();
        var (_, beforeRooms) = await host.GetAsync("/_matrix/client/v3/joined_rooms", otherToken);
        var (again, body) = await host.PostAsync("/_matrix/client/v3/createRoom", new JsonObject { ["room_alias_name"] = name }, otherToken);
        (again, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_ROOM_IN_USE"));
        var (_, afterRooms) = await host.GetAsync("/_matrix/client/v3/joined_rooms", otherToken);
        afterRooms["joined_rooms"]!.AsArray().Count.Should().Be(beforeRooms["joined_rooms"]!.AsArray().Count, "no room was made");
    }

    [Fact]
    public async Task Join_and_knock_accept_an_alias()
    {
        var (_, ownerToken) = await host.RegisterAsync();
        var (_, joinerToken) = await host.RegisterAsync();
        var (_, knockerToken) = await host.RegisterAsync();
        var publicRoom = await host.CreateRoomAsync(ownerToken, new JsonObject { ["preset"] = "public_chat", ["room_alias_name"] = $"p{Guid.NewGuid():N}" });
        var knockRoom = await host.CreateRoomAsync(ownerToken, new JsonObject
        {
            ["room_version"] = "10", ["room_alias_name"] = $"k{Guid.NewGuid():N}",
            ["initial_state"] = new JsonArray(new JsonObject { ["type"] = "m.room.join_rules", ["content"] = new JsonObject { ["join_rule"] = "knock" } }),
        });
        var publicAlias = (await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(publicRoom)}/aliases", ownerToken)).Body["aliases"]![0]!.GetValue<string>();
        var knockAlias = (await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(knockRoom)}/aliases", ownerToken)).Body["aliases"]![0]!.GetValue<string>();

        var (joined, joinBody) = await host.PostAsync($"/_matrix/client/v3/join/{Uri.EscapeDataString(publicAlias)}", new JsonObject(), joinerToken);
        joined.Should().Be(200, joinBody.ToJsonString());
        joinBody["room_id"]!.GetValue<string>().Should().Be(publicRoom);

        var (knocked, knockBody) = await host.PostAsync($"/_matrix/client/v3/knock/{Uri.EscapeDataString(knockAlias)}", new JsonObject(), knockerToken);
        knocked.Should().Be(200, knockBody.ToJsonString());
        knockBody["room_id"]!.GetValue<string>().Should().Be(knockRoom);

        var (unknown, unknownBody) = await host.PostAsync($"/_matrix/client/v3/join/{Uri.EscapeDataString(NewAlias())}", new JsonObject(), joinerToken);
        (unknown, unknownBody["errcode"]!.GetValue<string>()).Should().Be((404, "M_NOT_FOUND"));
    }

    [Fact]
    public async Task The_aliases_of_a_room_the_caller_cannot_read_are_refused()
    {
        var (_, ownerToken) = await host.RegisterAsync();
        var (_, strangerToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(ownerToken);
        var (status, _) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/aliases", strangerToken);
        status.Should().Be(403);
    }
}
