using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Projections.Documents;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.Guests;

/// <summary>The guest access module over HTTP: registration, the endpoint list, world_readable reads, can_join, withdrawal, upgrade.</summary>
[Collection(HostCollection.Name)]
public sealed class GuestAccessTests(HostFixture host)
{
    private static string Rooms(string roomId) => $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}";

    [Fact]
    public async Task A_guest_registers_without_credentials_and_is_marked_as_a_guest()
    {
        var (guest, token) = await host.RegisterGuestAsync();
        var (status, who) = await host.GetAsync("/_matrix/client/v3/account/whoami", token);
        status.Should().Be(200);
        who["user_id"]!.GetValue<string>().Should().Be(guest);
        who["is_guest"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task A_guest_may_read_the_capabilities_as_matrix_js_sdk_does_at_start_up()
    {
        var (_, token) = await host.RegisterGuestAsync();
        var (status, body) = await host.GetAsync("/_matrix/client/v3/capabilities", token);
        status.Should().Be(200, body.ToJsonString());
        body["capabilities"]!["m.room_versions"]!["default"]!.GetValue<string>().Should().NotBeEmpty();
    }

    [Fact]
    public async Task Endpoints_outside_the_guest_list_refuse_a_guest_token()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        var (_, guestToken) = await host.RegisterGuestAsync();

        var (status, body) = await host.PostAsync("/_matrix/client/v3/createRoom", new JsonObject(), guestToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_GUEST_ACCESS_FORBIDDEN"));
        (status, body) = await host.PostAsync($"{Rooms(roomId)}/invite", new JsonObject { ["user_id"] = "@x:localhost" }, guestToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_GUEST_ACCESS_FORBIDDEN"));
        (status, body) = await host.GetAsync($"{Rooms(roomId)}/joined_members", guestToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_GUEST_ACCESS_FORBIDDEN"));
    }

    [Fact]
    public async Task A_guest_reads_the_seeds_four_endpoints_only_while_the_room_is_world_readable()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["name"] = "Lobby" });
        await host.SendMessageAsync(aliceToken, roomId, "while shared");
        var (_, guestToken) = await host.RegisterGuestAsync();

        string[] seedEndpoints =
        [
            $"{Rooms(roomId)}/messages", $"{Rooms(roomId)}/state", $"{Rooms(roomId)}/state/m.room.name/",
            $"/_matrix/client/v3/events?room_id={HostFixture.Room(roomId)}&timeout=0",
        ];
        foreach (var url in seedEndpoints)
        {
            var (status, body) = await host.GetAsync(url, guestToken);
            (status, body["errcode"]?.GetValue<string>()).Should().Be((403, "M_GUEST_ACCESS_FORBIDDEN"), $"{url} on a shared room");
        }

        await host.SetStateAsync(aliceToken, roomId, "m.room.history_visibility", new JsonObject { ["history_visibility"] = "world_readable" });
        await host.SendMessageAsync(aliceToken, roomId, "while world readable");
        foreach (var url in seedEndpoints)
            (await host.GetAsync(url, guestToken)).Status.Should().Be(200, url);

        var (_, messages) = await host.GetAsync($"{Rooms(roomId)}/messages?limit=50", guestToken);
        var bodies = messages["chunk"]!.AsArray().Select(e => e!["content"]?["body"]?.GetValue<string>()).ToList();
        bodies.Should().Contain("while world readable", "world_readable history is visible to everyone")
            .And.NotContain("while shared", "visibility is decided by the state at each event, not the current state");
        var (_, name) = await host.GetAsync($"{Rooms(roomId)}/state/m.room.name/", guestToken);
        name["name"]!.GetValue<string>().Should().Be("Lobby");
    }

    [Fact]
    public async Task A_guest_joins_only_when_guest_access_is_can_join_and_leaves_when_it_is_withdrawn()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        // public_chat: join rule public, guest_access forbidden.
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        var (guest, guestToken) = await host.RegisterGuestAsync();

        var (status, body) = await host.JoinAsync(guestToken, roomId);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_GUEST_ACCESS_FORBIDDEN"));

        await host.SetStateAsync(aliceToken, roomId, "m.room.guest_access", new JsonObject { ["guest_access"] = "can_join" });
        (await host.JoinAsync(guestToken, roomId)).Status.Should().Be(200);
        (await MembershipOf(roomId, guest)).Should().Be("join");

        await host.SetStateAsync(aliceToken, roomId, "m.room.guest_access", new JsonObject { ["guest_access"] = "forbidden" });
        (await MembershipOf(roomId, guest)).Should().Be("leave", "withdrawing guest access removes every joined guest");

        await using var session = Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(roomId);
        var last = events[^1].Data.Should().BeOfType<Domain.Events.MemberEvent>().Subject;
        (last.Sender, last.StateKey, last.Membership).Should().Be((guest, guest, "leave"));
        events[^2].Data.Should().BeOfType<Domain.Events.GuestAccessEvent>("the leave follows the withdrawal in the same append");
    }

    [Fact]
    public async Task Guest_access_does_not_override_the_join_rule()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "private_chat" }); // invite-only, can_join
        var (_, guestToken) = await host.RegisterGuestAsync();
        var (status, body) = await host.JoinAsync(guestToken, roomId);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
    }

    [Fact]
    public async Task A_guest_upgrades_to_a_full_account_and_keeps_its_user_id()
    {
        var (guest, guestToken) = await host.RegisterGuestAsync();
        var upgraded = await host.PostOkAsync("/_matrix/client/v3/register", new JsonObject
        {
            ["password"] = "a real password", ["guest_access_token"] = guestToken, ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        upgraded["user_id"]!.GetValue<string>().Should().Be(guest);
        var (_, who) = await host.GetAsync("/_matrix/client/v3/account/whoami", upgraded["access_token"]!.GetValue<string>());
        who["is_guest"]!.GetValue<bool>().Should().BeFalse();
        (await host.GetAsync("/_matrix/client/v3/account/whoami", guestToken)).Status.Should().Be(401, "the guest token ends with the upgrade");
    }

    private IDocumentStore Store => host.Host.Services.GetRequiredService<IDocumentStore>();

    private async Task<string?> MembershipOf(string roomId, string userId)
    {
        await using var session = Store.QuerySession();
        return (await session.LoadAsync<RoomMember>(RoomMember.IdFor(roomId, userId)))?.Membership;
    }
}
