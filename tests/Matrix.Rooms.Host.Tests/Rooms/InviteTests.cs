using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.Rooms;

/// <summary>createRoom and invite-by-user-ID, over HTTP (both paths) and over the message bus, with the seed's refusals.</summary>
[Collection(HostCollection.Name)]
public sealed class InviteTests(HostFixture host)
{
    private static string InviteUrl(string roomId) => $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/invite";

    [Fact]
    public async Task Invite_appends_a_member_event_and_the_invitee_can_join()
    {
        var (alice, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["name"] = "Tea", ["preset"] = "private_chat" });

        (await host.PostAsync(InviteUrl(roomId), new JsonObject { ["user_id"] = bob }, aliceToken)).Status.Should().Be(200);
        (await host.PostAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/join", new JsonObject(), bobToken)).Status.Should().Be(200);

        var (status, members) = await host.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/joined_members", token: aliceToken);
        status.Should().Be(200);
        members["joined"]!.AsObject().Select(kv => kv.Key).Should().BeEquivalentTo(alice, bob);
    }

    [Fact]
    public async Task The_seeds_legacy_v1_path_invites_too()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (bob, _) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        var (status, body) = await host.PostAsync($"/_matrix/client/api/v1/rooms/{HostFixture.Room(roomId)}/invite",
            new JsonObject { ["user_id"] = bob }, aliceToken);
        status.Should().Be(200, body.ToJsonString());
        (await MembershipOf(roomId, bob)).Should().Be("invite");
    }

    [Fact]
    public async Task Inviting_a_banned_user_is_forbidden_and_names_them()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (bob, _) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        (await host.PostAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/ban", new JsonObject { ["user_id"] = bob }, aliceToken))
            .Status.Should().Be(200);

        var (status, body) = await host.PostAsync(InviteUrl(roomId), new JsonObject { ["user_id"] = bob }, aliceToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain(bob).And.Contain("banned");
    }

    [Fact]
    public async Task Inviting_a_member_is_forbidden()
    {
        var (alice, aliceToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        var (status, body) = await host.PostAsync(InviteUrl(roomId), new JsonObject { ["user_id"] = alice }, aliceToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain(alice);
    }

    [Fact]
    public async Task An_inviter_who_is_not_in_the_room_is_forbidden()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (_, malloryToken) = await host.RegisterAsync();
        var (carol, _) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        var (status, body) = await host.PostAsync(InviteUrl(roomId), new JsonObject { ["user_id"] = carol }, malloryToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain("not");
    }

    [Fact]
    public async Task An_inviter_below_the_invite_level_is_forbidden()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var (carol, _) = await host.RegisterAsync();
        // public_chat sets the invite level to 50; bob joins with 0.
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        (await host.PostAsync($"/_matrix/client/v3/join/{HostFixture.Room(roomId)}", new JsonObject(), bobToken)).Status.Should().Be(200);

        var (status, body) = await host.PostAsync(InviteUrl(roomId), new JsonObject { ["user_id"] = carol }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        body["error"]!.GetValue<string>().Should().Contain("power");
        (await MembershipOf(roomId, carol)).Should().BeNull("a refused invite appends nothing");
    }

    [Theory]
    [InlineData("{not json", 400, "M_NOT_JSON")]
    [InlineData("[1,2]", 400, "M_BAD_JSON")]
    [InlineData("{\"user_id\": 5}", 400, "M_BAD_JSON")]
    [InlineData("{}", 400, "M_MISSING_PARAM")]
    [InlineData("{\"user_id\": \"not-a-user\"}", 400, "M_INVALID_PARAM")]
    public async Task Bad_input_gets_a_matrix_error(string body, int status, string errcode)
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var (actualStatus, json) = await host.SendAsync(HttpMethod.Post, InviteUrl(roomId), body, token);
        (actualStatus, json["errcode"]!.GetValue<string>()).Should().Be((status, errcode));
        json["error"]!.GetValue<string>().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task Unknown_rooms_bad_room_ids_and_unknown_endpoints_are_matrix_errors()
    {
        var (bob, token) = await host.RegisterAsync();
        var (status, body) = await host.PostAsync(InviteUrl("!nosuchroom:localhost"), new JsonObject { ["user_id"] = bob }, token);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((404, "M_NOT_FOUND"));

        (status, body) = await host.PostAsync(InviteUrl("no-bang"), new JsonObject { ["user_id"] = bob }, token);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));

        (status, body) = await host.SendAsync(HttpMethod.Get, "/_matrix/client/v3/no/such/endpoint", token: token);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((404, "M_UNRECOGNIZED"));
    }

    [Fact]
    public async Task The_same_commands_work_through_the_message_bus()
    {
        var bus = host.Bus;
        var created = await bus.InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = "@busowner:localhost", Name = "Bus room" });
        created.Error.Should().BeNull();

        var invited = await bus.InvokeAsync<RoomCommandResult>(new InviteUser
            { RoomId = created.RoomId!, Sender = "@busowner:localhost", UserId = "@friend:localhost" });
        invited.Error.Should().BeNull();
        invited.EventId.Should().StartWith("$");

        var refused = await bus.InvokeAsync<RoomCommandResult>(new InviteUser
            { RoomId = created.RoomId!, Sender = "@stranger:localhost", UserId = "@friend2:localhost" });
        refused.Error!.ErrCode.Should().Be("M_FORBIDDEN");

        await using var session = host.Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        var events = await session.Events.FetchStreamAsync(created.RoomId!);
        events.Select(e => e.Data).OfType<Domain.Events.MemberEvent>().Select(m => (m.StateKey, m.Membership))
            .Should().Equal(("@busowner:localhost", "join"), ("@friend:localhost", "invite"));
    }

    private async Task<string?> MembershipOf(string roomId, string userId)
    {
        await using var session = host.Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        var row = await session.LoadAsync<Projections.Documents.RoomMember>(Projections.Documents.RoomMember.IdFor(roomId, userId));
        return row?.Membership;
    }
}
