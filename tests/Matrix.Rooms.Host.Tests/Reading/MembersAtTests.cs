using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Reading;

/// <summary><c>GET /rooms/{roomId}/members?at=</c>: the members at a pagination token (spec "Room membership").</summary>
[Collection(HostCollection.Name)]
public sealed class MembersAtTests(HostFixture fixture)
{
    private const string V3 = "/_matrix/client/v3";

    private async Task<string> HeadTokenAsync(string token, string room) =>
        (await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/messages?dir=b&limit=1", token)).Body["start"]!.GetValue<string>();

    private async Task<Dictionary<string, string>> MembersAsync(string token, string room, string query)
    {
        var (status, body) = await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/members{query}", token);
        status.Should().Be(200, body.ToJsonString());
        return body["chunk"]!.AsArray().ToDictionary(m => m!["state_key"]!.GetValue<string>(), m => m!["content"]!["membership"]!.GetValue<string>());
    }

    [Fact]
    public async Task At_a_messages_token_or_a_sync_token_lists_the_members_of_that_moment_with_the_membership_filters()
    {
        var alice = await fixture.RegisterAsync();
        var bob = await fixture.RegisterAsync();
        var carol = await fixture.RegisterAsync();
        var room = await fixture.CreateRoomAsync(alice.Token, new JsonObject { ["preset"] = "public_chat" });
        var beforeBob = await HeadTokenAsync(alice.Token, room);
        (await fixture.JoinAsync(bob.Token, room)).Status.Should().Be(200);
        var withBob = await HeadTokenAsync(alice.Token, room);
        var (_, sync) = await fixture.GetAsync($"{V3}/sync", alice.Token);
        var syncWithBob = sync["next_batch"]!.GetValue<string>();
        (await fixture.JoinAsync(carol.Token, room)).Status.Should().Be(200);
        await fixture.PostOkAsync($"{V3}/rooms/{HostFixture.Room(room)}/leave", new JsonObject(), bob.Token);

        (await MembersAsync(alice.Token, room, $"?at={beforeBob}")).Should().Equal(new Dictionary<string, string> { [alice.UserId] = "join" });
        var then = new Dictionary<string, string> { [alice.UserId] = "join", [bob.UserId] = "join" };
        (await MembersAsync(alice.Token, room, $"?at={withBob}")).Should().BeEquivalentTo(then);
        (await MembersAsync(alice.Token, room, $"?at={syncWithBob}")).Should().BeEquivalentTo(then, "a /sync token names the same moment");
        (await MembersAsync(alice.Token, room, "")).Should().BeEquivalentTo(
            new Dictionary<string, string> { [alice.UserId] = "join", [bob.UserId] = "leave", [carol.UserId] = "join" });

        // membership / not_membership apply to the members of that moment (both: OR).
        (await MembersAsync(alice.Token, room, $"?at={withBob}&membership=join")).Should().BeEquivalentTo(then);
        (await MembersAsync(alice.Token, room, $"?at={withBob}&not_membership=join")).Should().BeEmpty();
        (await MembersAsync(alice.Token, room, $"?at={withBob}&membership=leave&not_membership=join")).Should().BeEmpty();
        (await MembersAsync(alice.Token, room, $"?not_membership=join")).Keys.Should().Equal(bob.UserId);
    }

    [Fact]
    public async Task A_user_who_left_sees_no_later_than_their_leave_whatever_at_says()
    {
        var alice = await fixture.RegisterAsync();
        var bob = await fixture.RegisterAsync();
        var dave = await fixture.RegisterAsync();
        var room = await fixture.CreateRoomAsync(alice.Token, new JsonObject { ["preset"] = "public_chat" });
        (await fixture.JoinAsync(bob.Token, room)).Status.Should().Be(200);
        await fixture.PostOkAsync($"{V3}/rooms/{HostFixture.Room(room)}/leave", new JsonObject(), bob.Token);
        (await fixture.JoinAsync(dave.Token, room)).Status.Should().Be(200);
        var now = await HeadTokenAsync(alice.Token, room);

        var seen = await MembersAsync(bob.Token, room, $"?at={now}");
        seen.Should().NotContainKey(dave.UserId, "Dave joined after Bob left");
        seen[bob.UserId].Should().Be("leave");
        (await MembersAsync(alice.Token, room, $"?at={now}")).Should().ContainKey(dave.UserId);
    }

    [Theory]
    [InlineData("x12")]
    [InlineData("s")]
    [InlineData("e12")]
    [InlineData("s-1")]
    public async Task A_token_this_server_did_not_issue_is_400(string at)
    {
        var alice = await fixture.RegisterAsync();
        var room = await fixture.CreateRoomAsync(alice.Token);
        var (status, body) = await fixture.GetAsync($"{V3}/rooms/{HostFixture.Room(room)}/members?at={at}", alice.Token);
        status.Should().Be(400);
        body["errcode"]!.GetValue<string>().Should().Be("M_INVALID_PARAM");
    }
}
