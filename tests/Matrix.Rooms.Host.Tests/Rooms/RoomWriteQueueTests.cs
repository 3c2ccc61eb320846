using System.Text.Json.Nodes;
using Alba;
using Marten;
using Marten.Services;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Npgsql;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.Rooms;

/// <summary>
/// The bounds of the room write queue: a writer that cannot get its turn in time, or keeps losing to writers outside
/// the queue, is answered 503 with <c>retry_after_ms</c> and stores nothing — never a 500.
/// </summary>
public sealed class RoomWriteQueueTests : IAsyncLifetime
{
    private readonly ConflictingWriter _outsider = new();
    private string _connectionString = "";
    private IAlbaHost _host = null!;

    public async Task InitializeAsync()
    {
        _connectionString = TestDatabase.NewDatabase("queue");
        _host = await AlbaHost.For<Program>(builder =>
        {
            builder.UseSetting("ConnectionStrings:Marten", _connectionString);
            builder.UseSetting("MatrixRooms:PasswordHashIterations", "1000");
            builder.UseSetting("MatrixRooms:RoomWriteQueueSeconds", "0.2");
            builder.ConfigureServices(services =>
            {
                services.RunWolverineInSoloMode();
                services.ConfigureMarten(o => o.Listeners.Add(_outsider));
            });
        });
    }

    [Fact]
    public async Task A_writer_that_cannot_get_its_turn_in_time_gets_503_with_retry_after_and_stores_nothing()
    {
        var token = await Register();
        var roomId = await CreateRoom(token);
        var before = await StreamVersion(roomId);

        // Another writer holds the room's lock (as a long decision would).
        await using (var holder = new NpgsqlConnection(_connectionString))
        {
            await holder.OpenAsync();
            await using (var take = new NpgsqlCommand("select pg_advisory_lock(hashtextextended($1, 0))", holder) { Parameters = { new() { Value = roomId } } })
                await take.ExecuteNonQueryAsync();

            var (status, body) = await Send(roomId, "t-busy", token);
            status.Should().Be(503, body.ToJsonString());
            body["errcode"]!.GetValue<string>().Should().Be("M_UNKNOWN");
            body["error"]!.GetValue<string>().Should().Contain("not applied");
            body["retry_after_ms"]!.GetValue<long>().Should().BePositive();
            (await StreamVersion(roomId)).Should().Be(before, "nothing is stored for a refused write");
            await using var release = new NpgsqlCommand("select pg_advisory_unlock(hashtextextended($1, 0))", holder) { Parameters = { new() { Value = roomId } } };
            await release.ExecuteNonQueryAsync();
        }

        var (retried, json) = await Send(roomId, "t-busy", token);
        retried.Should().Be(200, "the lock is free again and the retry is a new request: nothing was stored the first time");
        (await StreamVersion(roomId)).Should().Be(before + 1);
        json["event_id"].Should().NotBeNull();
    }

    [Fact]
    public async Task Exhausted_concurrency_retries_answer_503_with_retry_after_not_500()
    {
        var token = await Register();
        var roomId = await CreateRoom(token);
        var before = await StreamVersion(roomId);
        _outsider.Target = (roomId, _host.Services.GetRequiredService<IDocumentStore>());

        var (status, body) = await Send(roomId, "t-conflict", token);

        _outsider.Target = null;
        status.Should().Be(503, body.ToJsonString());
        body["retry_after_ms"]!.GetValue<long>().Should().BePositive();
        var afterwards = await StreamVersion(roomId);
        (afterwards - before).Should().Be(_outsider.Appended, "only the outside writer's events are stored");
        var again = await Send(roomId, "t-conflict", token);
        again.Status.Should().Be(200, "the room is writable again: " + again.Body.ToJsonString());
    }

    /// <summary>
    /// A writer outside the room queue (as a tool writing the store directly would be): just before each save of a room
    /// command on the target room, it appends an event to that room through its own session, so every attempt's
    /// expected version is stale.
    /// </summary>
    private sealed class ConflictingWriter : DocumentSessionListenerBase
    {
        public (string RoomId, IDocumentStore Store)? Target;
        public int Appended;
        private readonly AsyncLocal<bool> _outside = new();

        public override async Task BeforeSaveChangesAsync(IDocumentSession session, CancellationToken token)
        {
            if (_outside.Value || Target is not { } target || !session.PendingChanges.Streams().Any(s => s.Key == target.RoomId)) return;
            _outside.Value = true; // the outside writer's own save passes through this listener too
            await using var outside = target.Store.LightweightSession();
            var head = await outside.LoadAsync<Projections.Documents.RoomHead>(target.RoomId, token);
            outside.Events.Append(target.RoomId, head!.StreamVersion + 1, MatrixEvent.Create("org.example.outside", target.RoomId, "@outsider:localhost", null,
                new JsonObject(), SystemClock.Instance.GetCurrentInstant()) with { PrevEvents = new JsonArray(head.LastEventId) });
            await outside.SaveChangesAsync(token);
            Interlocked.Increment(ref Appended);
        }
    }

    private async Task<long> StreamVersion(string roomId)
    {
        await using var session = _host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return (await session.Events.FetchStreamStateAsync(roomId))!.Version;
    }

    private Task<(int Status, JsonObject Body)> Send(string roomId, string txnId, string token) =>
        Request(HttpMethod.Put, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/send/m.room.message/{txnId}",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = txnId }.ToJsonString(), token);

    private async Task<string> Register()
    {
        var (_, body) = await Request(HttpMethod.Post, "/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = "q" + Guid.NewGuid().ToString("N")[..8], ["password"] = "long enough pw", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        }.ToJsonString());
        return body["access_token"]!.GetValue<string>();
    }

    private async Task<string> CreateRoom(string token)
    {
        var (status, body) = await Request(HttpMethod.Post, "/_matrix/client/v3/createRoom", "{}", token);
        status.Should().Be(200, body.ToJsonString());
        return body["room_id"]!.GetValue<string>();
    }

    private async Task<(int Status, JsonObject Body)> Request(HttpMethod method, string url, string body, string? token = null)
    {
        var result = await _host.Scenario(s =>
        {
            if (method == HttpMethod.Put) s.Put.Url(url);
            else s.Post.Url(url);
            s.Body.TextIs(body);
            if (token is not null) s.WithBearerToken(token);
            s.IgnoreStatusCode();
        });
        return (result.Context.Response.StatusCode, JsonNode.Parse(await result.ReadAsTextAsync()) as JsonObject ?? new JsonObject());
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();
}
