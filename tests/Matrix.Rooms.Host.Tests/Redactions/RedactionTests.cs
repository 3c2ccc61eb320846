using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.Redactions;

/// <summary>
/// Spec client-server "Redactions": <c>PUT /rooms/{roomId}/redact/{eventId}/{txnId}</c> sends an <c>m.room.redaction</c>
/// (top-level <c>redacts</c> before v11, <c>content.redacts</c> from v11), idempotent per transaction like <c>/send</c>;
/// readers then serve the redacted event as the version's algorithm leaves it, with <c>unsigned.redacted_because</c> —
/// only when the redaction is allowed (own event, or the redact power level).
/// </summary>
[Collection(HostCollection.Name)]
public sealed class RedactionTests(HostFixture host)
{
    [Theory]
    [InlineData("10")]
    [InlineData("11")]
    [InlineData("12")]
    public async Task A_redacted_message_is_served_without_its_content_and_with_the_redaction_that_did_it(string version)
    {
        var (alice, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token, new JsonObject { ["room_version"] = version });
        var original = await host.SendMessageAsync(token, roomId, "regrettable");

        var redaction = await RedactOk(token, roomId, original, "t1", new JsonObject { ["reason"] = "typo" });

        var stored = await StoredEvent(roomId, redaction);
        stored.Type.Should().Be(EventTypes.Redaction);
        if (version == "10")
        {
            stored.Redacts.Should().Be(original, "before v11 redacts is a top-level key");
            stored.Content.ContainsKey("redacts").Should().BeFalse();
        }
        else
        {
            stored.Content["redacts"]!.GetValue<string>().Should().Be(original, "from v11 redacts is in content");
            stored.Redacts.Should().BeNull();
        }

        var (status, ev) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/event/{Uri.EscapeDataString(original)}", token);
        status.Should().Be(200, ev.ToJsonString());
        ev["content"]!.AsObject().Should().BeEmpty("m.room.message keeps no content key when redacted");
        ev["sender"]!.GetValue<string>().Should().Be(alice);
        var because = ev["unsigned"]!["redacted_because"]!;
        because["event_id"]!.GetValue<string>().Should().Be(redaction);
        because["content"]!["reason"]!.GetValue<string>().Should().Be("typo");
        because["redacts"]!.GetValue<string>().Should().Be(original, "clients read redacts at the top level in every version");

        var messages = await Messages(token, roomId);
        messages.Single(e => e["event_id"]!.GetValue<string>() == original)["content"]!.AsObject().Should().BeEmpty();
        messages.Single(e => e["event_id"]!.GetValue<string>() == redaction)["unsigned"]!["transaction_id"]!.GetValue<string>()
            .Should().Be("t1", "the redaction was sent by this device with txnId t1");
    }

    [Fact]
    public async Task Redacting_is_idempotent_per_transaction_id_and_scoped_to_the_redacted_event()
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var first = await host.SendMessageAsync(token, roomId, "one");
        var second = await host.SendMessageAsync(token, roomId, "two");

        var once = await RedactOk(token, roomId, first, "same");
        var again = await RedactOk(token, roomId, first, "same");
        var other = await RedactOk(token, roomId, second, "same");
        var sendSameTxn = await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/send/m.room.message/same",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = "three" }.ToJsonString(), token);

        again.Should().Be(once, "a retransmission answers the first redaction");
        other.Should().NotBe(once, "another event's redaction is another request path");
        sendSameTxn.Body["event_id"]!.GetValue<string>().Should().NotBe(once, "a send is another request path");
        (await StoredEvents(roomId)).Count(e => e.Type == EventTypes.Redaction).Should().Be(2);
    }

    [Fact]
    public async Task A_redaction_of_another_users_event_applies_only_with_the_redact_power_level()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (_, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(bobToken, roomId)).Status.Should().Be(200);
        var alices = await host.SendMessageAsync(aliceToken, roomId, "alice's words");
        var bobs = await host.SendMessageAsync(bobToken, roomId, "bob's words");

        // Bob (level 0, redact needs 50) may not redact Alice's event: refused before it is sent (as Synapse), nothing stored.
        var before = await host.StreamVersionAsync(roomId);
        var (refused, refusal) = await host.SendAsync(HttpMethod.Put,
            $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/redact/{Uri.EscapeDataString(alices)}/b1", "{}", bobToken);
        (refused, refusal["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        (await host.StreamVersionAsync(roomId)).Should().Be(before);
        var (missing, _) = await host.SendAsync(HttpMethod.Put,
            $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/redact/{Uri.EscapeDataString("$nosuchevent")}/b2", "{}", bobToken);
        missing.Should().Be(404, "below the redact level the event must exist and be one's own");
        // Bob may redact his own.
        var bobsOwn = await host.SendMessageAsync(bobToken, roomId, "bob's typo");
        await RedactOk(bobToken, roomId, bobsOwn, "b3");
        // Alice (the creator, 100) may redact Bob's.
        await RedactOk(aliceToken, roomId, bobs, "a1");

        var messages = await Messages(bobToken, roomId);
        var alicesServed = messages.Single(e => e["event_id"]!.GetValue<string>() == alices);
        alicesServed["content"]!["body"]!.GetValue<string>().Should().Be("alice's words");
        (alicesServed["unsigned"]?["redacted_because"]).Should().BeNull();
        var bobsServed = messages.Single(e => e["event_id"]!.GetValue<string>() == bobs);
        bobsServed["content"]!.AsObject().Should().BeEmpty();
        bobsServed["unsigned"]!["redacted_because"]!["sender"]!.GetValue<string>().Should().NotBeNull();
    }

    [Fact]
    public async Task A_redacted_state_event_is_served_redacted_by_the_state_reads()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(bobToken, roomId)).Status.Should().Be(200);
        var topic = await host.SetStateAsync(aliceToken, roomId, EventTypes.Topic, new JsonObject { ["topic"] = "secret plans" });
        var bobsJoin = await host.SetStateAsync(bobToken, roomId, EventTypes.Member, new JsonObject { ["membership"] = "join", ["displayname"] = "Bobby" }, bob);
        await RedactOk(aliceToken, roomId, topic, "t1");
        await RedactOk(aliceToken, roomId, bobsJoin, "t2");
        var room = $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}";

        var (status, content) = await host.GetAsync($"{room}/state/{EventTypes.Topic}/", aliceToken);
        (status, content.Count).Should().Be((200, 0), "m.room.topic keeps no content key when redacted");
        var (_, asEvent) = await host.GetAsync($"{room}/state/{EventTypes.Topic}/?format=event", aliceToken);
        asEvent["content"]!.AsObject().Should().BeEmpty();
        asEvent["unsigned"]!["redacted_because"].Should().NotBeNull();

        var (_, text, _) = await host.SendRawAsync("GET", $"{room}/state", null, bobToken);
        var state = JsonNode.Parse(text)!.AsArray();
        state.Single(e => e!["type"]!.GetValue<string>() == EventTypes.Topic)!["content"]!.AsObject().Should().BeEmpty();

        var (_, members) = await host.GetAsync($"{room}/members", bobToken);
        var bobsMember = members["chunk"]!.AsArray().Single(e => e!["state_key"]!.GetValue<string>() == bob)!;
        bobsMember["content"]!.AsObject().Select(p => p.Key).Should().Equal("membership");
        var (_, bobsState) = await host.GetAsync($"{room}/state/{EventTypes.Member}/{Uri.EscapeDataString(bob)}", bobToken);
        bobsState.Select(p => p.Key).Should().Equal(["membership"], "a redacted member event keeps only membership");
    }

    [Fact]
    public async Task Sync_serves_redacted_events_redacted_and_the_own_devices_transaction_ids()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (_, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        (await host.JoinAsync(bobToken, roomId)).Status.Should().Be(200);
        var (status, sent) = await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/send/m.room.message/sync-txn",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = "kept" }.ToJsonString(), aliceToken);
        status.Should().Be(200);
        var kept = sent["event_id"]!.GetValue<string>();
        var gone = await host.SendMessageAsync(aliceToken, roomId, "gone");
        await RedactOk(aliceToken, roomId, gone, "r1");

        var alices = await SyncTimeline(aliceToken, roomId);
        alices.Single(e => e["event_id"]!.GetValue<string>() == kept)["unsigned"]!["transaction_id"]!.GetValue<string>().Should().Be("sync-txn");
        alices.Single(e => e["event_id"]!.GetValue<string>() == gone)["content"]!.AsObject().Should().BeEmpty();

        var bobs = await SyncTimeline(bobToken, roomId);
        (bobs.Single(e => e["event_id"]!.GetValue<string>() == kept)["unsigned"]?["transaction_id"]).Should().BeNull("only the sending device is told");
        var goneForBob = bobs.Single(e => e["event_id"]!.GetValue<string>() == gone);
        goneForBob["content"]!.AsObject().Should().BeEmpty();
        goneForBob["unsigned"]!["redacted_because"]!["type"]!.GetValue<string>().Should().Be(EventTypes.Redaction);
    }

    [Theory]
    [InlineData("not-an-event-id", "{}")]
    [InlineData("$valid", "{\"reason\": 5}")]
    [InlineData("$valid", "[]")]
    public async Task Bad_requests_are_refused_with_400_and_store_nothing(string eventId, string body)
    {
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token);
        var before = await host.StreamVersionAsync(roomId);

        var (status, json) = await host.SendAsync(HttpMethod.Put,
            $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/redact/{Uri.EscapeDataString(eventId)}/bad", body, token);

        status.Should().Be(400, json.ToJsonString());
        json["errcode"]!.GetValue<string>().Should().StartWith("M_");
        (await host.StreamVersionAsync(roomId)).Should().Be(before);
    }

    private async Task<string> RedactOk(string token, string roomId, string eventId, string txnId, JsonObject? body = null)
    {
        var (status, json) = await host.SendAsync(HttpMethod.Put,
            $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/redact/{Uri.EscapeDataString(eventId)}/{txnId}", (body ?? new JsonObject()).ToJsonString(), token);
        status.Should().Be(200, json.ToJsonString());
        json.Select(p => p.Key).Should().Equal("event_id");
        return json["event_id"]!.GetValue<string>();
    }

    private async Task<List<JsonNode>> Messages(string token, string roomId)
    {
        var (status, json) = await host.GetAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/messages?dir=b&limit=50", token);
        status.Should().Be(200, json.ToJsonString());
        return json["chunk"]!.AsArray().Select(e => e!).ToList();
    }

    private async Task<List<JsonNode>> SyncTimeline(string token, string roomId)
    {
        var (status, json) = await host.GetAsync("/_matrix/client/v3/sync", token);
        status.Should().Be(200, json.ToJsonString());
        return json["rooms"]!["join"]![roomId]!["timeline"]!["events"]!.AsArray().Select(e => e!).ToList();
    }

    private async Task<IReadOnlyList<MatrixEvent>> StoredEvents(string roomId)
    {
        await using var session = host.Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return (await session.Events.FetchStreamAsync(roomId)).Select(e => (MatrixEvent)e.Data).ToList();
    }

    private async Task<MatrixEvent> StoredEvent(string roomId, string eventId) => (await StoredEvents(roomId)).Single(e => e.EventId == eventId);
}
