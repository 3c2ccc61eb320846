using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Projections.Documents;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.Sync;

/// <summary>
/// The projected per-room member counts (<see cref="RoomMemberCounts"/>) that sync's <c>summary</c> and the public room
/// directory read: every membership change moves them as the member rows say, and a room without stored counts (a
/// database from before the projection) is answered by counting, then counted once on its next member event.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class MemberCountTests(HostFixture host)
{
    private const string LazyFilter = """{"room":{"state":{"lazy_load_members":true},"timeline":{"limit":5}}}""";

    private static string Rooms(string roomId) => $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}";

    private IDocumentStore Store => host.Host.Services.GetRequiredService<IDocumentStore>();

    [Fact]
    public async Task Joins_invites_leaves_kicks_bans_unbans_and_rejoins_move_the_counts()
    {
        var (_, alice) = await host.RegisterAsync();
        var (bobId, bob) = await host.RegisterAsync();
        var (carolId, carol) = await host.RegisterAsync();
        var (daveId, dave) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        await ExpectAsync(roomId, alice, joined: 1, invited: 0, "the creator joined");

        await Ok(host.PostAsync($"{Rooms(roomId)}/invite", new JsonObject { ["user_id"] = bobId }, alice));
        await ExpectAsync(roomId, alice, 1, 1, "bob invited");
        await Ok(host.JoinAsync(bob, roomId));
        await ExpectAsync(roomId, alice, 2, 0, "bob's invite became a join");
        await Ok(host.JoinAsync(carol, roomId));
        await ExpectAsync(roomId, alice, 3, 0, "carol joined");
        await Ok(host.JoinAsync(carol, roomId));
        await ExpectAsync(roomId, alice, 3, 0, "a join while joined (join → join) changes nothing");
        await Ok(host.PostAsync($"{Rooms(roomId)}/leave", new JsonObject(), carol));
        await ExpectAsync(roomId, alice, 2, 0, "carol left");
        await Ok(host.PostAsync($"{Rooms(roomId)}/kick", new JsonObject { ["user_id"] = bobId, ["reason"] = "test" }, alice));
        await ExpectAsync(roomId, alice, 1, 0, "bob kicked");
        await Ok(host.PostAsync($"{Rooms(roomId)}/invite", new JsonObject { ["user_id"] = daveId }, alice));
        await ExpectAsync(roomId, alice, 1, 1, "dave invited");
        await Ok(host.PostAsync($"{Rooms(roomId)}/ban", new JsonObject { ["user_id"] = daveId }, alice));
        await ExpectAsync(roomId, alice, 1, 0, "an invited user banned is no longer invited");
        await Ok(host.PostAsync($"{Rooms(roomId)}/unban", new JsonObject { ["user_id"] = daveId }, alice));
        await ExpectAsync(roomId, alice, 1, 0, "unbanned (ban → leave)");
        await Ok(host.JoinAsync(dave, roomId));
        await Ok(host.JoinAsync(carol, roomId));
        await Ok(host.JoinAsync(bob, roomId));
        await ExpectAsync(roomId, alice, 4, 0, "dave joined, carol and bob rejoined");
        await Ok(host.PostAsync($"{Rooms(roomId)}/ban", new JsonObject { ["user_id"] = carolId }, alice));
        await ExpectAsync(roomId, alice, 3, 0, "a joined user banned");
    }

    [Fact]
    public async Task The_public_room_directory_reads_the_projected_joined_count()
    {
        var (_, alice) = await host.RegisterAsync();
        var (_, bob) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat", ["visibility"] = "public" });
        await Ok(host.JoinAsync(bob, roomId));
        var chunk = await DirectoryEntryAsync(roomId, alice);
        chunk["num_joined_members"]!.GetValue<int>().Should().Be(2);

        // Without stored counts (a database from before the projection) the directory counts the rows.
        await DeleteCountsAsync(roomId);
        (await DirectoryEntryAsync(roomId, alice))["num_joined_members"]!.GetValue<int>().Should().Be(2);
    }

    [Fact]
    public async Task A_room_without_stored_counts_is_counted_then_projected_from_its_next_member_event()
    {
        var (_, alice) = await host.RegisterAsync();
        var (bobId, bob) = await host.RegisterAsync();
        var (_, carol) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        await Ok(host.JoinAsync(bob, roomId));
        await Ok(host.PostAsync($"{Rooms(roomId)}/invite", new JsonObject { ["user_id"] = (await host.RegisterAsync()).UserId }, alice));
        await DeleteCountsAsync(roomId);

        (await SummaryAsync(roomId, alice)).Should().Be((2, 1), "the summary counts the member rows while no counts are stored");
        (await StoredAsync(roomId)).Should().BeNull();

        await Ok(host.JoinAsync(carol, roomId));
        (await StoredAsync(roomId)).Should().Be((3, 1), "the first member event counts the rows once, then applies itself");
        await Ok(host.PostAsync($"{Rooms(roomId)}/kick", new JsonObject { ["user_id"] = bobId }, alice));
        await ExpectAsync(roomId, alice, 2, 1, "and the counts move from there");
    }

    /// <summary>The stored counts, the member rows and the lazy-loading sync's summary all say (joined, invited).</summary>
    private async Task ExpectAsync(string roomId, string token, int joined, int invited, string because)
    {
        (await StoredAsync(roomId)).Should().Be((joined, invited), because);
        await using (var session = Store.QuerySession())
        {
            var rows = await session.Query<RoomMember>().Where(m => m.RoomId == roomId).ToListAsync();
            (rows.Count(m => m.Membership == Memberships.Join), rows.Count(m => m.Membership == Memberships.Invite))
                .Should().Be((joined, invited), "the member rows agree (" + because + ")");
        }
        (await SummaryAsync(roomId, token)).Should().Be((joined, invited), "sync's summary reads them (" + because + ")");
    }

    private async Task<(int Joined, int Invited)?> StoredAsync(string roomId)
    {
        await using var session = Store.QuerySession();
        return await session.LoadAsync<RoomMemberCounts>(roomId) is { } counts ? (counts.Joined, counts.Invited) : null;
    }

    private async Task<(int, int)> SummaryAsync(string roomId, string token)
    {
        var (status, sync) = await host.GetAsync("/_matrix/client/v3/sync?filter=" + Uri.EscapeDataString(LazyFilter), token);
        status.Should().Be(200, sync.ToJsonString());
        var summary = sync["rooms"]!["join"]![roomId]!["summary"]!;
        return (summary["m.joined_member_count"]!.GetValue<int>(), summary["m.invited_member_count"]!.GetValue<int>());
    }

    private async Task DeleteCountsAsync(string roomId)
    {
        await using var session = Store.LightweightSession();
        session.Delete<RoomMemberCounts>(roomId);
        await session.SaveChangesAsync();
    }

    private async Task<JsonObject> DirectoryEntryAsync(string roomId, string token)
    {
        for (string? since = null; ;)
        {
            var body = new JsonObject { ["limit"] = 100 };
            if (since is not null) body["since"] = since;
            var (status, page) = await host.PostAsync("/_matrix/client/v3/publicRooms", body, token);
            status.Should().Be(200, page.ToJsonString());
            if (page["chunk"]!.AsArray().FirstOrDefault(c => c!["room_id"]!.GetValue<string>() == roomId) is JsonObject found) return found;
            since = page["next_batch"]?.GetValue<string>();
            since.Should().NotBeNull($"{roomId} is published");
        }
    }

    private static async Task Ok(Task<(int Status, JsonObject Body)> request)
    {
        var (status, body) = await request;
        status.Should().Be(200, body.ToJsonString());
    }
}
