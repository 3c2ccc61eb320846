using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Forget;

[Collection(HostCollection.Name)]
public sealed class ForgetRoomTests(HostFixture host)
{
    [Fact]
    public async Task A_left_room_once_forgotten_no_longer_yields_its_history_until_the_user_joins_again()
    {
        var (_, alice) = await host.RegisterAsync();
        var (_, bob) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(bob, room)).Status.Should().Be(200);
        await host.SendMessageAsync(alice, room, "while bob was there");
        var forget = $"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/forget";
        var messages = $"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/messages?dir=b&limit=10";

        var joined = await host.PostAsync(forget, new JsonObject(), bob);
        (joined.Status, joined.Body["errcode"]!.GetValue<string>()).Should().Be((400, "M_UNKNOWN"), "a joined room cannot be forgotten");

        await host.PostOkAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/leave", new JsonObject(), bob);
        (await host.GetAsync(messages, bob)).Status.Should().Be(200, "a former member reads what they saw");
        (await host.PostAsync(forget, new JsonObject(), bob)).Status.Should().Be(200);
        (await host.GetAsync(messages, bob)).Status.Should().Be(403, "forgotten: no history");

        (await host.JoinAsync(bob, room)).Status.Should().Be(200);
        (await host.GetAsync(messages, bob)).Status.Should().Be(200, "joining again makes the room theirs again");
    }

    [Fact]
    public async Task A_room_never_joined_cannot_be_forgotten()
    {
        var (_, alice) = await host.RegisterAsync();
        var (_, bob) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(alice);
        (await host.PostAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/forget", new JsonObject(), bob)).Status.Should().Be(404);
        (await host.PostAsync("/_matrix/client/v3/rooms/not-a-room/forget", new JsonObject(), bob)).Status.Should().Be(400);
    }
}
