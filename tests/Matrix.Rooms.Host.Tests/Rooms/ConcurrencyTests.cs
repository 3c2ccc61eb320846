using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Projections.Documents;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.Rooms;

/// <summary>Concurrent writers on one room: every acknowledged command is stored once, in a stream the rules accept.</summary>
[Collection(HostCollection.Name)]
public sealed class ConcurrencyTests(HostFixture host)
{
    [Fact]
    public async Task Concurrent_invites_to_one_room_are_all_stored_once_and_the_stream_passes_the_rules()
    {
        const string owner = "@concurrent_owner:localhost";
        var created = await host.Bus.InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = owner });
        var roomId = created.RoomId!;
        var invitees = Enumerable.Range(0, 24).Select(i => $"@invitee{i}:localhost").ToList();

        var results = await Task.WhenAll(invitees.Select(async userId =>
        {
            using var scope = host.Host.Services.CreateScope();
            var bus = scope.ServiceProvider.GetRequiredService<IMessageBus>();
            return await bus.InvokeAsync<RoomCommandResult>(new InviteUser { RoomId = roomId, Sender = owner, UserId = userId });
        }));

        results.Should().OnlyContain(r => r.Error == null);
        await using var session = host.Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        var stream = await session.Events.FetchStreamAsync(roomId);
        var events = stream.Select(e => (MatrixEvent)e.Data).ToList();

        events.OfType<MemberEvent>().Where(m => m.Membership == "invite").Select(m => m.StateKey)
            .Should().BeEquivalentTo(invitees, "each acknowledged invite is stored exactly once");
        events.Select(e => e.EventId).Should().OnlyHaveUniqueItems();
        RoomAudit.FirstFailure(events).Should().BeNull("every stored event passes the rules against the state before it");

        // prev_events form a single line through the timeline.
        for (var i = 1; i < events.Count; i++)
            events[i].PrevEvents!.Single()!.GetValue<string>().Should().Be(events[i - 1].EventId);

        var members = await session.Query<RoomMember>().Where(m => m.RoomId == roomId).ToListAsync();
        members.Should().HaveCount(invitees.Count + 1, "the inline projection agrees with the stream");
        (await session.LoadAsync<RoomHead>(roomId))!.StreamVersion.Should().Be(stream.Count);
    }

    [Fact]
    public async Task Many_writers_of_one_room_queue_and_every_send_is_acknowledged_and_stored_once()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);

        var answers = await Task.WhenAll(Enumerable.Range(0, 32).Select(writer => Task.Run(async () =>
        {
            var mine = new List<(int Status, JsonObject Body)>();
            for (var i = 0; i < 8; i++)
                mine.Add(await host.SendAsync(HttpMethod.Put,
                    $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/send/m.room.message/w{writer}-{i}",
                    new JsonObject { ["msgtype"] = "m.text", ["body"] = $"w{writer}-{i}" }.ToJsonString(), token));
            return mine;
        })));

        var all = answers.SelectMany(a => a).ToList();
        all.Should().OnlyContain(a => a.Status == 200, string.Join("\n", all.Where(a => a.Status != 200).Select(a => $"{a.Status} {a.Body.ToJsonString()}")));
        await using var session = host.Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        var stored = (await session.Events.FetchStreamAsync(roomId)).Select(e => ((MatrixEvent)e.Data).EventId).ToList();
        stored.Should().OnlyHaveUniqueItems();
        stored.Should().Contain(all.Select(a => a.Body["event_id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_refused_command_changes_nothing()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        await using var session = host.Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        var before = (await session.Events.FetchStreamStateAsync(roomId))!.Version;

        var refused = await host.Bus.InvokeAsync<RoomCommandResult>(new KickUser { RoomId = roomId, Sender = "@nobody:localhost", UserId = "@x:localhost" });
        refused.Error.Should().NotBeNull();
        var (status, _) = await host.PostAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/unban",
            new JsonObject { ["user_id"] = "@never_banned:localhost" }, aliceToken);
        status.Should().Be(403);

        (await session.Events.FetchStreamStateAsync(roomId))!.Version.Should().Be(before);
    }
}
