using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.Rooms;

/// <summary>
/// Spec "Transaction identifiers": a request is a retransmission when the transaction ID and the request path are the
/// same as an earlier request of the same device; a retransmission answers what the original did. The scope is one
/// device and one path: the same txnId in another room or for another event type is a new request.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class TransactionIdTests(HostFixture host)
{
    [Fact]
    public async Task Simultaneous_sends_with_one_txnId_all_answer_the_one_stored_event()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);

        // Several rounds: the race (both miss the transaction, one appends first) needs the requests to overlap.
        for (var round = 0; round < 6; round++)
        {
            var text = $"once {round} {Guid.NewGuid()}";
            var body = new JsonObject { ["msgtype"] = "m.text", ["body"] = text }.ToJsonString();
            var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() =>
                host.SendAsync(HttpMethod.Put, SendPath(roomId, "m.room.message", $"same-txn-{round}"), body, token))));

            answers.Should().OnlyContain(a => a.Status == 200, string.Join("\n", answers.Select(a => $"{a.Status} {a.Body.ToJsonString()}")));
            answers.Select(a => a.Body["event_id"]!.GetValue<string>()).Distinct().Should().ContainSingle("every retransmission answers the original event");
            (await MessagesWithBody(roomId, text)).Should().ContainSingle("the event is stored once");
        }
    }

    [Fact]
    public async Task A_txnId_reused_in_another_room_or_for_another_event_type_is_a_new_request()
    {
        var (_, token) = await host.RegisterAsync();
        var first = await host.CreateRoomAsync(token);
        var second = await host.CreateRoomAsync(token);
        var content = new JsonObject { ["msgtype"] = "m.text", ["body"] = "scoped " + Guid.NewGuid() }.ToJsonString();

        var inFirst = await SendOk(SendPath(first, "m.room.message", "t1"), content, token);
        var inSecond = await SendOk(SendPath(second, "m.room.message", "t1"), content, token);
        var otherType = await SendOk(SendPath(first, "org.example.note", "t1"), content, token);
        var retransmission = await SendOk(SendPath(first, "m.room.message", "t1"), content, token);
        var viaR0 = await SendOk(SendPath(first, "m.room.message", "t1", "r0"), content, token);

        new[] { inFirst, inSecond, otherType }.Should().OnlyHaveUniqueItems("each is a different request path");
        retransmission.Should().Be(inFirst);
        viaR0.Should().Be(inFirst, "r0 and v3 are one endpoint");
        (await StoredEventIds(second)).Should().Contain(inSecond, "the second room got its own event");
        (await StoredEventIds(first)).Should().Contain([inFirst, otherType]);
    }

    [Fact]
    public async Task Transaction_ids_with_separator_characters_do_not_collide()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var content = new JsonObject { ["msgtype"] = "m.text", ["body"] = "x" }.ToJsonString();

        // Joined naively with '|' both would be "…|a|b|c".
        var one = await SendOk(SendPath(roomId, "a|b", "c"), content, token);
        var two = await SendOk(SendPath(roomId, "a", "b|c"), content, token);

        one.Should().NotBe(two);
    }

    private static string SendPath(string roomId, string type, string txnId, string version = "v3") =>
        $"/_matrix/client/{version}/rooms/{HostFixture.Room(roomId)}/send/{Uri.EscapeDataString(type)}/{Uri.EscapeDataString(txnId)}";

    private async Task<string> SendOk(string path, string body, string token)
    {
        var (status, json) = await host.SendAsync(HttpMethod.Put, path, body, token);
        status.Should().Be(200, json.ToJsonString());
        return json["event_id"]!.GetValue<string>();
    }

    private async Task<IReadOnlyList<MatrixEvent>> StoredEvents(string roomId)
    {
        await using var session = host.Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return (await session.Events.FetchStreamAsync(roomId)).Select(e => (MatrixEvent)e.Data).ToList();
    }

    private async Task<IReadOnlyList<string>> StoredEventIds(string roomId) => (await StoredEvents(roomId)).Select(e => e.EventId).ToList();

    private async Task<IReadOnlyList<MatrixEvent>> MessagesWithBody(string roomId, string body) =>
        (await StoredEvents(roomId)).Where(e => e.Type == "m.room.message" && e.Content["body"]?.GetValue<string>() == body).ToList();
}
