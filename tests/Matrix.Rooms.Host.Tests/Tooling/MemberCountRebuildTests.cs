using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Seeding;
using Npgsql;

namespace Matrix.Rooms.Host.Tests.Tooling;

/// <summary>
/// <see cref="RoomMemberCounts"/> through the tooling: the bulk path and a rebuild give the counts the member rows say,
/// also over events stored before member events noted their previous membership; and the seeding option that grows a
/// room's members only.
/// </summary>
[Collection(ToolingCollection.Name)]
public sealed class MemberCountRebuildTests
{
    [Fact]
    public async Task Bulk_seeded_and_rebuilt_counts_equal_the_member_rows_also_for_events_without_the_marker()
    {
        var store = ToolingFixture.NewStore("counts");
        var seeded = await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 4, Members = 12, Events = 160, Seed = 31 });
        await ShouldMatchRowsAsync(store, seeded.RoomIds, "bulk-seeded");

        // A database from before the marker: the same events without it.
        await using (var connection = store.Storage.Database.CreateConnection())
        {
            await connection.OpenAsync();
            await using var strip = new NpgsqlCommand(
                $"update {store.Options.Events.DatabaseSchemaName}.mt_events set data = data #- '{{unsigned,{MemberEvent.PreviousMembershipMarker}}}' where type = 'm.room.member'",
                connection);
            (await strip.ExecuteNonQueryAsync()).Should().BeGreaterThan(0);
        }
        await using (var session = store.LightweightSession())
        {
            session.DeleteWhere<RoomMemberCounts>(_ => true);
            await session.SaveChangesAsync();
        }

        var rebuilt = await ToolingFixture.Rebuilder(store).RebuildAsync(new RebuildOptions { PageSize = 50 }, new SilentProgress(), default);
        rebuilt.Verification!.Passed.Should().BeTrue(string.Join("\n", rebuilt.Verification.Mismatches));
        await ShouldMatchRowsAsync(store, seeded.RoomIds, "rebuilt from events without the marker");
    }

    [Fact]
    public void The_activity_option_keeps_a_rooms_non_member_state_the_same_whatever_its_members()
    {
        int NonMemberStateEvents(int members, int? activity)
        {
            var options = new SeedOptions { Rooms = 1, Members = members, Events = 2 * members + 40, Activity = activity, Seed = 3 };
            var script = new RoomScript(options, 0, new UserPool(options));
            return script.Steps().Skip(1).SelectMany(s => s.Events).Count(e => e.IsState && e.Type != EventTypes.Member);
        }

        NonMemberStateEvents(400, activity: 40).Should().BeLessThanOrEqualTo(40);
        NonMemberStateEvents(400, activity: null).Should().BeGreaterThan(40, "by default the activity grows with the events asked for");

        var options = new SeedOptions { Rooms = 1, Members = 30, Events = 500, Activity = 0, Seed = 4 };
        new RoomScript(options, 0, new UserPool(options)).Steps().Skip(1).Select(s => s.Command.GetType().Name).Distinct()
            .Should().BeSubsetOf(["InviteUser", "JoinRoom"], "without activity a room is its creation and its members' joins");
    }

    private static async Task ShouldMatchRowsAsync(IDocumentStore store, IReadOnlyList<string> roomIds, string because)
    {
        await using var session = store.QuerySession();
        foreach (var roomId in roomIds)
        {
            var rows = await session.Query<RoomMember>().Where(m => m.RoomId == roomId).ToListAsync();
            var counts = await session.LoadAsync<RoomMemberCounts>(roomId);
            counts.Should().NotBeNull(because);
            (counts!.Joined, counts.Invited).Should().Be(
                (rows.Count(m => m.Membership == Memberships.Join), rows.Count(m => m.Membership == Memberships.Invite)), $"{roomId}, {because}");
        }
    }
}
