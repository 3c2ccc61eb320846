using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Alba;
using Bogus;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Replay;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;
using Xunit.Abstractions;

namespace Matrix.Rooms.Host.Tests.Reliability;

/// <summary>
/// Suite 2 of issue 9: at least 32 clients at once on a few rooms, each following its own random (seeded, Bogus)
/// script of joins, leaves, invites, kicks, bans, power-level and state changes, reads, and messages whose transaction
/// IDs are repeated — sequentially, simultaneously, and in other rooms. Afterwards: no 5xx and no hang; every non-200
/// answer is Matrix error JSON; every acknowledged event is stored exactly once and a refusal stored nothing; a
/// retransmission answered the original event; every stored event passes the authorization rules against the state
/// before it, in one line of prev_events; the projections equal live aggregation of the streams.
/// </summary>
[Trait("Category", ReliabilityScale.Category)]
public sealed class ConcurrencySuiteTests(ITestOutputHelper output) : IAsyncLifetime
{
    private IAlbaHost _host = null!;
    private HostClient _http = null!;

    public async Task InitializeAsync()
    {
        var connectionString = TestDatabase.NewDatabase("concurrency");
        _host = await AlbaHost.For<Program>(builder =>
        {
            builder.UseSetting("ConnectionStrings:Marten", connectionString);
            builder.UseSetting("MatrixRooms:PasswordHashIterations", "1000");
            builder.ConfigureServices(services => services.RunWolverineInSoloMode());
        });
        _http = new HostClient(_host);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>One request of the run and what its answer obliges the store to hold.</summary>
    private sealed record Outcome(string Kind, string RoomId, Answer Answer, string? TxnKey = null, MembershipChange? Membership = null);

    /// <summary>A membership change the store must hold once per acknowledgement (these endpoints answer no event ID).</summary>
    private sealed record MembershipChange(string RoomId, string Sender, string Target, string Membership);

    private sealed class Client(int index, string userId, string token, int seed)
    {
        public int Index { get; } = index;
        public string UserId { get; } = userId;
        public string Token { get; } = token;
        public Randomizer Random { get; } = new(seed);
        public List<(string RoomId, string TxnId)> SentTxns { get; } = [];
        public int Counter;
    }

    [Fact]
    public async Task Concurrent_clients_on_a_few_rooms_get_no_5xx_lose_and_duplicate_nothing_and_every_stored_event_passes_the_rules()
    {
        var clientCount = ReliabilityScale.Pick(32, 64);
        var steps = ReliabilityScale.Pick(8, 150);
        var roomCount = ReliabilityScale.Pick(3, 4);
        var run = Guid.NewGuid().ToString("N")[..6];

        var users = await Task.WhenAll(Enumerable.Range(0, clientCount).Select(i => _http.RegisterAsync($"c{i}_{run}")));
        var clients = users.Select((u, i) => new Client(i, u.UserId, u.Token, ReliabilityScale.Seed * 1000 + i)).ToList();
        // Client i < roomCount owns room i; the last room is invite-only, so joins there are refused unless invited.
        var rooms = new List<string>();
        for (var i = 0; i < roomCount; i++)
            rooms.Add(await _http.CreateRoomAsync(clients[i].Token, i == roomCount - 1 ? "private_chat" : "public_chat"));
        var store = _host.Services.GetRequiredService<IDocumentStore>();
        var baseline = new Dictionary<string, int>();
        foreach (var room in rooms) baseline[room] = (await StreamAsync(store, room)).Count;

        var outcomes = new ConcurrentQueue<Outcome>();
        await Task.WhenAll(clients.Select(c => Task.Run(async () =>
        {
            for (var step = 0; step < steps; step++)
                foreach (var outcome in await StepAsync(c, clients, rooms, roomCount, firstStep: step == 0))
                    outcomes.Enqueue(outcome);
        })));

        // What the answers oblige the store to hold.
        var all = outcomes.ToList();
        var serverErrors = all.Where(o => o.Answer.Status is >= 500 or < 0).ToList();
        var notMatrix = all.Where(o => o.Answer.Status != 200 && !o.Answer.IsMatrixError).ToList();
        var ackedEvents = all.Where(o => o.Answer.Status == 200 && o.Answer.EventId is not null)
            .Select(o => (o.RoomId, EventId: o.Answer.EventId!)).ToHashSet();
        var ackedMemberships = all.Where(o => o.Answer.Status == 200 && o.Membership is not null).Select(o => o.Membership!).ToList();
        var retransmissionsDiffering = all.Where(o => o.TxnKey is not null && o.Answer.Status == 200)
            .GroupBy(o => o.TxnKey).Count(g => g.Select(o => o.Answer.EventId).Distinct().Count() > 1);

        // What the store holds.
        var lost = new List<string>();
        var unexpected = new List<string>();
        var ruleFailures = new List<string>();
        var brokenChains = 0;
        var checkedEvents = 0;
        foreach (var room in rooms)
        {
            var stream = await StreamAsync(store, room);
            checkedEvents += stream.Count;
            if (RoomAudit.FirstFailure(stream) is { } failure)
                ruleFailures.Add($"{room} #{failure.Index} {failure.Event.Type} {failure.Event.EventId}: {failure.Decision}");
            for (var i = 1; i < stream.Count; i++)
                if (stream[i].PrevEvents?.SingleOrDefault()?.GetValue<string>() != stream[i - 1].EventId) brokenChains++;

            var added = stream.Skip(baseline[room]).ToList();
            var ids = added.Select(e => e.EventId).ToList();
            lost.AddRange(ackedEvents.Where(a => a.RoomId == room && !ids.Contains(a.EventId)).Select(a => a.EventId));
            var expectedMembers = ackedMemberships.Where(m => m.RoomId == room).ToList();
            foreach (var ev in added.Where(e => !ackedEvents.Contains((room, e.EventId))))
            {
                var change = ev is MemberEvent member ? new MembershipChange(room, ev.Sender, ev.StateKey!, member.Membership ?? "") : null;
                if (change is not null && expectedMembers.Remove(change)) continue;
                unexpected.Add($"{room} {ev.Type} {ev.StateKey} {ev.EventId} by {ev.Sender}");
            }
            lost.AddRange(expectedMembers.Select(m => $"{m.Sender} → {m.Target}: {m.Membership}"));
            unexpected.AddRange(ids.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => $"{g.Key} stored {g.Count()} times"));
        }
        var verification = await new RebuildVerifier(store).VerifyAsync(ProjectionCatalog.All(store), rooms, default);

        output.WriteLine($"concurrency suite: seed {ReliabilityScale.Seed}, {clientCount} clients × {steps} steps on {roomCount} rooms: " +
            $"{all.Count} requests ({string.Join(", ", all.GroupBy(o => o.Answer.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} × {g.Key}"))}); " +
            $"{ackedEvents.Count + ackedMemberships.Count} acknowledged events; {checkedEvents} stored events checked; " +
            $"5xx {serverErrors.Count}, lost {lost.Count}, duplicated or unacknowledged {unexpected.Count}, " +
            $"retransmissions answering another event {retransmissionsDiffering}, unauthorised {ruleFailures.Count}, " +
            $"broken prev_events {brokenChains}, projection mismatches {verification.Mismatches.Count}");

        serverErrors.Should().BeEmpty(string.Join("\n", serverErrors.Take(5).Select(o => $"{o.Kind}: {o.Answer}")));
        notMatrix.Should().BeEmpty(string.Join("\n", notMatrix.Take(5).Select(o => $"{o.Kind}: {o.Answer}")));
        all.Count(o => o.Answer.Status == 200).Should().BeGreaterThan(all.Count / 4, "the script must mostly do something");
        lost.Should().BeEmpty("every acknowledged event is stored");
        unexpected.Should().BeEmpty("each acknowledged event is stored once and a refusal stores nothing");
        retransmissionsDiffering.Should().Be(0, "a retransmission answers the event of the original request");
        ruleFailures.Should().BeEmpty("every stored event passes the rules against the state before it");
        brokenChains.Should().Be(0, "each writer decided on the state its predecessor left");
        verification.Passed.Should().BeTrue(string.Join("\n", verification.Mismatches.Take(10)));
    }

    private async Task<IReadOnlyList<Outcome>> StepAsync(Client c, IReadOnlyList<Client> clients, IReadOnlyList<string> rooms, int owners,
        bool firstStep)
    {
        var r = c.Random;
        var room = r.ListItem(rooms.ToList());
        var other = r.ListItem(clients.Where(x => x != c).ToList());
        var ownRoom = c.Index < owners ? rooms[c.Index] : null;
        // Everyone starts by joining somewhere, so the rest of the script mostly acts in rooms it is in.
        var kind = firstStep ? "join" : ownRoom is not null && r.Bool(0.4f)
            ? r.WeightedRandom(["kick", "ban", "unban", "promote", "topic"], [0.25f, 0.15f, 0.2f, 0.2f, 0.2f])
            : r.WeightedRandom(["join", "leave", "send", "resend", "twin", "other-room", "invite", "state", "read"],
                [0.2f, 0.06f, 0.28f, 0.1f, 0.06f, 0.05f, 0.1f, 0.07f, 0.08f]);
        string Path(string roomId, string action) => $"/_matrix/client/v3/rooms/{HostClient.Room(roomId)}/{action}";
        MembershipChange Change(string roomId, string target, string membership) => new(roomId, c.UserId, target, membership);
        Outcome One(string roomId, Answer answer, MembershipChange? change = null) => new(kind, roomId, answer, Membership: change);

        switch (kind)
        {
            case "join":
                return [One(room, await _http.PostAsync(Path(room, "join"), new JsonObject(), c.Token), Change(room, c.UserId, "join"))];
            case "leave":
                return [One(room, await _http.PostAsync(Path(room, "leave"), new JsonObject(), c.Token), Change(room, c.UserId, "leave"))];
            case "invite":
                return [One(room, await _http.PostAsync(Path(room, "invite"), new JsonObject { ["user_id"] = other.UserId }, c.Token),
                    Change(room, other.UserId, "invite"))];
            case "state":
                return [One(room, await _http.PutAsync(Path(room, $"state/org.example.status/{Uri.EscapeDataString(c.UserId)}"),
                    new JsonObject { ["status"] = r.Word() }, c.Token))];
            case "read":
                return [One(room, await _http.SendAsync(HttpMethod.Get, r.Bool() ? Path(room, "messages?dir=b&limit=5") : Path(room, "state"), token: c.Token))];
            case "send":
            {
                var txn = $"t{Interlocked.Increment(ref c.Counter)}";
                lock (c.SentTxns) c.SentTxns.Add((room, txn));
                return [await SendAsync(c, kind, room, txn)];
            }
            case "resend" when c.SentTxns.Count > 0:
            {
                var (sentIn, txn) = r.ListItem(c.SentTxns);
                return [await SendAsync(c, kind, sentIn, txn)];
            }
            case "other-room" when c.SentTxns.Count > 0:
            {
                var (_, txn) = r.ListItem(c.SentTxns);
                lock (c.SentTxns) c.SentTxns.Add((room, txn));
                return [await SendAsync(c, kind, room, txn)];
            }
            case "twin":
            {
                var txn = $"t{Interlocked.Increment(ref c.Counter)}";
                lock (c.SentTxns) c.SentTxns.Add((room, txn));
                return await Task.WhenAll(SendAsync(c, kind, room, txn), SendAsync(c, kind, room, txn));
            }
            case "kick" or "ban" or "unban":
            {
                var target = r.ListItem(clients.Skip(owners).ToList());
                var membership = kind == "ban" ? "ban" : "leave";
                return [One(ownRoom!, await _http.PostAsync(Path(ownRoom!, kind), new JsonObject { ["user_id"] = target.UserId, ["reason"] = "script" }, c.Token),
                    Change(ownRoom!, target.UserId, membership))];
            }
            case "promote":
            {
                var users = new JsonObject { [c.UserId] = 100 };
                foreach (var promoted in r.ListItems(clients.Skip(owners).ToList(), r.Number(0, 4))) users[promoted.UserId] = 50;
                return [One(ownRoom!, await _http.PutAsync(Path(ownRoom!, "state/m.room.power_levels/"), new JsonObject
                {
                    ["users"] = users, ["users_default"] = 0, ["events_default"] = 0, ["state_default"] = 50,
                    ["ban"] = 50, ["kick"] = 50, ["redact"] = 50, ["invite"] = 0,
                    ["events"] = new JsonObject { ["m.room.power_levels"] = 100, ["m.room.history_visibility"] = 100 },
                }, c.Token))];
            }
            case "topic":
                return [One(ownRoom!, await _http.PutAsync(Path(ownRoom!, "state/m.room.topic/"), new JsonObject { ["topic"] = r.Words(3) }, c.Token))];
            default:
                return [One(room, await _http.PostAsync(Path(room, "join"), new JsonObject(), c.Token), Change(room, c.UserId, "join"))];
        }
    }

    private async Task<Outcome> SendAsync(Client c, string kind, string roomId, string txnId)
    {
        var answer = await _http.PutAsync(HostClient.SendPath(roomId, "m.room.message", txnId),
            new JsonObject { ["msgtype"] = "m.text", ["body"] = $"{c.UserId} {txnId}" }, c.Token);
        return new Outcome(kind, roomId, answer, TxnKey: $"{c.UserId} {roomId} {txnId}");
    }

    private static async Task<IReadOnlyList<MatrixEvent>> StreamAsync(IDocumentStore store, string roomId)
    {
        await using var session = store.QuerySession();
        return (await session.Events.FetchStreamAsync(roomId)).Select(e => (MatrixEvent)e.Data).ToList();
    }
}
