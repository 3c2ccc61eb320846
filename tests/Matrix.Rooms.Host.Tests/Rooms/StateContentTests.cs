using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Rooms;

/// <summary>
/// Content checks of <c>PUT /rooms/{roomId}/state/…</c> that the spec asks of the client-server API (room_state.yaml 400):
/// <c>m.room.canonical_alias</c> aliases and the <c>m.room.member</c> membership enum.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class StateContentTests(HostFixture host)
{
    private static string NewAlias() => $"#c{Guid.NewGuid():N}:localhost";

    private async Task AddAliasAsync(string token, string alias, string roomId) =>
        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/directory/room/{Uri.EscapeDataString(alias)}",
            new JsonObject { ["room_id"] = roomId }.ToJsonString(), token)).Status.Should().Be(200);

    private Task<(int Status, JsonObject Body)> PutAsync(string token, string roomId, string type, JsonObject content, string stateKey = "") =>
        host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/state/{type}/{Uri.EscapeDataString(stateKey)}",
            content.ToJsonString(), token);

    [Fact]
    public async Task Canonical_alias_names_only_valid_aliases_of_this_room_and_only_new_ones_are_checked()
    {
        var (_, alice) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(alice);
        var other = await host.CreateRoomAsync(alice);
        var mine = NewAlias();
        var theirs = NewAlias();
        await AddAliasAsync(alice, mine, room);
        await AddAliasAsync(alice, theirs, other);

        async Task Refused(JsonObject content, string errcode)
        {
            var (status, body) = await PutAsync(alice, room, "m.room.canonical_alias", content);
            (status, body["errcode"]?.GetValue<string>()).Should().Be((400, errcode), content.ToJsonString());
        }

        await Refused(new JsonObject { ["alias"] = theirs }, "M_BAD_ALIAS");
        await Refused(new JsonObject { ["alias"] = NewAlias() }, "M_BAD_ALIAS");
        await Refused(new JsonObject { ["alias"] = "#elsewhere:example.org" }, "M_BAD_ALIAS");
        await Refused(new JsonObject { ["alt_aliases"] = new JsonArray(theirs) }, "M_BAD_ALIAS");
        await Refused(new JsonObject { ["alias"] = "not an alias" }, "M_INVALID_PARAM");
        await Refused(new JsonObject { ["alias"] = 5 }, "M_INVALID_PARAM");
        await Refused(new JsonObject { ["alt_aliases"] = mine }, "M_INVALID_PARAM");
        await Refused(new JsonObject { ["alt_aliases"] = new JsonArray("#bad") }, "M_INVALID_PARAM");

        (await PutAsync(alice, room, "m.room.canonical_alias", new JsonObject { ["alias"] = mine, ["alt_aliases"] = new JsonArray(mine) })).Status
            .Should().Be(200);
        (await PutAsync(alice, room, "m.room.canonical_alias", new JsonObject())).Status.Should().Be(200, "no alias at all is allowed");
        (await PutAsync(alice, room, "m.room.canonical_alias", new JsonObject { ["alias"] = null, ["alt_aliases"] = new JsonArray(mine) })).Status
            .Should().Be(200);

        // The alias is deleted from the directory: the event that lists it stays valid, and may be re-sent with it.
        (await host.SendAsync(HttpMethod.Delete, $"/_matrix/client/v3/directory/room/{Uri.EscapeDataString(mine)}", token: alice)).Status.Should().Be(200);
        (await PutAsync(alice, room, "m.room.canonical_alias", new JsonObject { ["alias"] = "", ["alt_aliases"] = new JsonArray(mine) })).Status
            .Should().Be(200, "aliases already present are not checked again");
        await Refused(new JsonObject { ["alias"] = mine, ["alt_aliases"] = new JsonArray(mine) }, "M_BAD_ALIAS");

        var (_, state) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/state/m.room.canonical_alias/", alice);
        state["alt_aliases"]!.AsArray().Select(a => a!.GetValue<string>()).Should().Equal(mine);
        state["alias"]!.GetValue<string>().Should().BeEmpty("the refused event was not stored");
    }

    [Theory]
    [InlineData("""{"membership":"sideways"}""")]
    [InlineData("""{"membership":"JOIN"}""")]
    [InlineData("""{"membership":1}""")]
    [InlineData("""{"displayname":"no membership"}""")]
    public async Task A_member_event_with_a_membership_outside_the_enum_is_400_and_not_stored(string content)
    {
        var (alice, token) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(token);
        var before = await host.StreamVersionAsync(room);

        var (status, body) = await host.SendAsync(HttpMethod.Put,
            $"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/state/m.room.member/{Uri.EscapeDataString(alice)}", content, token);

        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_BAD_JSON"));
        (await host.StreamVersionAsync(room)).Should().Be(before);
        (await PutAsync(token, room, "m.room.member", new JsonObject { ["membership"] = "join", ["displayname"] = "Alice" }, alice)).Status
            .Should().Be(200, "a membership of the enum still goes to the rules");
    }
}
