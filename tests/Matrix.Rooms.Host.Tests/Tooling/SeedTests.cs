using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Projections.TimeTravel;
using Matrix.Rooms.Tooling.Seeding;

namespace Matrix.Rooms.Host.Tests.Tooling;

/// <summary>Bogus seeding: deterministic per seed, the same rooms through either path, and rooms the rules accept.</summary>
[Collection(ToolingCollection.Name)]
public sealed class SeedTests(ToolingFixture fixture)
{
    [Fact]
    public async Task The_same_seed_gives_the_same_rooms_and_another_seed_other_rooms()
    {
        var options = new SeedOptions { Rooms = 3, Members = 5, Events = 60, Seed = 5 };
        var first = Unsigned(await ToolingFixture.ExportAsync(await Seeded("seed5a", options)));
        var again = Unsigned(await ToolingFixture.ExportAsync(await Seeded("seed5b", options)));
        var other = Unsigned(await ToolingFixture.ExportAsync(await Seeded("seed6", options with { Seed = 6 })));
        again.Should().Be(first, "the same events, hashes and (from v3, reference-hash) event IDs");
        other.Should().NotBe(first);

        // Each store has its own server key, so only the signatures differ.
        static string Unsigned(string export) => string.Join('\n', export.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var json = JsonNode.Parse(line)!.AsObject();
            json.Remove("signatures").Should().BeTrue("bulk-seeded events are signed PDUs");
            return json.ToJsonString();
        }));
    }

    [Fact]
    public async Task Bulk_seeded_events_are_PDUs_signed_by_the_stores_server_key_that_verify()
    {
        var store = ToolingFixture.NewStore("seedpdus");
        var result = await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 8, Members = 4, Events = 40, Seed = 77 });
        await using var session = store.QuerySession();
        var stored = await ServerSigningKeys.LoadAsync(session, "localhost");
        stored.Should().NotBeNull("seeding made the server's key, as the Host would");
        using var signing = stored!.ToSigningKey();
        var keys = new[] { new ServerVerifyKey("localhost", stored.KeyId, signing.PublicKey) };
        var versions = new HashSet<string>();
        foreach (var room in result.RoomIds)
        {
            var events = (await session.Events.FetchStreamAsync(room)).Select(e => (MatrixEvent)e.Data).ToList();
            var version = RoomVersion.Get(((CreateEvent)events[0]).RoomVersion)!;
            versions.Add(version.Id);
            for (var i = 0; i < events.Count; i++)
            {
                var ev = events[i];
                PduVerification.IsPdu(ev).Should().BeTrue();
                var check = PduVerification.Check(ev, version, keys);
                check.Problem.Should().BeNull($"{ev.EventId} in a v{version.Id} room");
                check.Unverified.Should().BeEmpty();
                ev.ToJson()["depth"]!.GetValue<long>().Should().Be(i + 1);
                if (i > 0) ev.ToJson()["auth_events"]!.AsArray().Should().NotBeEmpty();
            }
            RoomAudit.FirstFailure(events).Should().BeNull();
        }
        versions.Should().HaveCountGreaterThan(1, "the seed spreads rooms over versions");
    }

    [Fact]
    public async Task Rooms_have_the_asked_size_and_realistic_content()
    {
        var store = ToolingFixture.NewStore("realistic");
        var result = await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 6, Members = 8, Events = 400, Seed = 13 });
        result.Events.Should().Be(6 * 400);
        await using var session = store.QuerySession();
        var all = new List<MatrixEvent>();
        foreach (var room in result.RoomIds)
        {
            var events = (await session.Events.FetchStreamAsync(room)).Select(e => (MatrixEvent)e.Data).ToList();
            events.Should().HaveCount(400);
            RoomAudit.FirstFailure(events).Should().BeNull();
            var state = (await new RoomTimeTravel(store).StateAtAsync(room, RoomPoint.Latest)).Value;
            state.Name.Should().NotBeNullOrEmpty();
            state.Members.Count.Should().BeGreaterThanOrEqualTo(8);
            all.AddRange(events);
        }
        all.OfType<MessageEvent>().Count().Should().BeGreaterThan(all.Count / 2);
        all.Select(e => e.Type).Distinct().Should().Contain([EventTypes.HistoryVisibility, EventTypes.GuestAccess, EventTypes.ThirdPartyInvite, EventTypes.Topic]);
        var invites = all.OfType<ThirdPartyInviteEvent>().ToList();
        invites.Should().Contain(i => i.IsRevoked, "some third-party invites are revoked");
        invites.Where(i => !i.IsRevoked).Should().AllSatisfy(i =>
        {
            i.ContentString("display_name").Should().Contain("…@").And.NotContain(".com").And.NotContain(".org");
            i.Content["public_keys"].Should().BeOfType<JsonArray>();
        });
        all.OfType<MemberEvent>().Select(m => m.Membership).Distinct().Should().Contain(["join", "invite", "leave", "ban"]);
    }

    [Fact]
    public async Task The_command_path_and_the_bulk_path_make_the_same_rooms()
    {
        var options = new SeedOptions { Rooms = 2, Members = 5, Events = 50, Seed = 41 };
        var viaCommands = await fixture.Service<RoomSeeder>().SeedAsync(options, bulk: false, new SilentProgress(), CancellationToken.None);
        viaCommands.Refused.Should().Be(0);
        var bulkStore = await Seeded("bulkpath", options);

        foreach (var room in viaCommands.RoomIds)
        {
            var commanded = await Timeline(fixture.Store, room);
            var bulk = await Timeline(bulkStore, room);
            commanded.Select(Shape).Should().Equal(bulk.Select(Shape));
            RoomAudit.FirstFailure(commanded).Should().BeNull();
        }

        static string Shape(MatrixEvent e) => $"{e.Type}|{e.StateKey}|{e.Sender}|{e.Content.ToJsonString()}";
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        FluentActions.Invoking(() => new SeedOptions { Rooms = 0 }.Validate()).Should().Throw<ArgumentException>().WithMessage("--rooms*");
        FluentActions.Invoking(() => new SeedOptions { Members = 0 }.Validate()).Should().Throw<ArgumentException>().WithMessage("--members*");
        FluentActions.Invoking(() => new SeedOptions { Events = -1 }.Validate()).Should().Throw<ArgumentException>().WithMessage("--events*");
    }

    private static async Task<IDocumentStore> Seeded(string purpose, SeedOptions options)
    {
        var store = ToolingFixture.NewStore(purpose);
        await ToolingFixture.SeedBulkAsync(store, options);
        return store;
    }

    private static async Task<List<MatrixEvent>> Timeline(IDocumentStore store, string room)
    {
        await using var session = store.QuerySession();
        return (await session.Events.FetchStreamAsync(room)).Select(e => (MatrixEvent)e.Data).ToList();
    }
}
