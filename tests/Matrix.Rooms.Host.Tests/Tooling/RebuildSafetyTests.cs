using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Alba;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Postgres;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Replay;
using Matrix.Rooms.Tooling.Seeding;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Matrix.Rooms.Host.Tests.Tooling;

/// <summary>
/// Suite 5 of issue 9 (rebuild safety): a rebuild that cannot read or apply an event stops with an error naming the
/// event (room, version, event ID), and every read model table holds exactly what it held before, so the Host keeps
/// serving the rooms; Marten's tombstone stream (left by failed appends) is not a room and does not fail a rebuild.
/// The unreadable events are appended underneath the engine with raw SQL: the input gate refuses to store them.
/// </summary>
[Collection(ToolingCollection.Name)]
public sealed class RebuildSafetyTests(ToolingFixture fixture)
{
    [Theory]
    [InlineData(UnreadableKind.NestedDeeperThanTheReader)]
    [InlineData(UnreadableKind.NotAnEventOfItsType)]
    public async Task A_rebuild_that_meets_an_unreadable_event_names_it_and_leaves_every_read_model_serving_as_before(UnreadableKind kind)
    {
        var client = new RoomsClient(fixture.Host);
        var token = await client.RegisterAsync();
        var rooms = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var room = await client.CreateRoomAsync(token);
            await client.PutAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/state/m.room.name/", new JsonObject { ["name"] = $"room {i}" }, token);
            for (var m = 0; m < 4; m++) await client.SendMessageAsync(token, room, $"message {m} in room {i}");
            rooms.Add(room);
        }
        var poisoned = rooms[^1];
        var store = fixture.Store;
        var servedBefore = await client.ReadAllAsync(rooms, token);
        var poison = await UnreadableEvents.AppendAsync(store, poisoned, kind);
        try
        {
            var tablesBefore = await ReadModelTables.FingerprintAsync(store);

            var rebuild = () => ToolingFixture.Rebuilder(store).RebuildAsync(new RebuildOptions { PageSize = 7 }, new SilentProgress(), default);

            var failure = (await rebuild.Should().ThrowAsync<RebuildFailedException>()).Which;
            failure.Event.Should().BeEquivalentTo(poison);
            failure.Message.Should().Contain(poisoned).And.Contain($"version {poison.Version}").And.Contain(poison.EventId);
            await ReadModelTables.ShouldBeAsBeforeAsync(store, tablesBefore, "a failed rebuild leaves every mt_doc_* table as it was");
            (await client.ReadAllAsync(rooms, token)).Should().Equal(servedBefore, "the Host serves the rooms as before");
        }
        finally
        {
            await UnreadableEvents.RemoveAsync(store, poison);
        }
    }

    [Fact]
    public async Task The_rebuild_command_exits_non_zero_naming_the_unreadable_event_changes_no_table_and_stops_its_PostgreSQL()
    {
        // The Host's own layout: <DataDirectory>/postgres, database matrix_rooms, started by the command and stopped on exit.
        var dataDirectory = Path.Combine(Path.GetTempPath(), "matrix-rooms-rbcli-" + Guid.NewGuid().ToString("N")[..8]);
        var postgres = new EmbeddedPostgresOptions { DataDirectory = Path.Combine(dataDirectory, "postgres") };
        try
        {
            UnreadableEvent poison;
            Dictionary<string, string> tablesBefore;
            using (var cluster = EmbeddedPostgres.StartOrAttach(postgres, NullLogger.Instance))
            {
                await using var store = ToolingFixture.StoreOn(cluster.ConnectionString());
                var seeded = await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 3, Members = 4, Events = 30, Seed = 9 });
                poison = await UnreadableEvents.AppendAsync(store, seeded.RoomIds[1], UnreadableKind.NestedDeeperThanTheReader);
                tablesBefore = await ReadModelTables.FingerprintAsync(store);
            } // stopped here, so that the command starts the server itself, as it does in production

            var (exitCode, output) = await HostProcess.RunAsync(new Dictionary<string, string> { ["MatrixRooms__DataDirectory"] = dataDirectory },
                TimeSpan.FromMinutes(3), "rebuild", "--page-size", "20");

            exitCode.Should().Be(1, output);
            output.Should().Contain(poison.StreamKey).And.Contain($"version {poison.Version}").And.Contain(poison.EventId);
            File.Exists(Path.Combine(postgres.DataDirectory, "postmaster.pid")).Should().BeFalse($"the command stops the PostgreSQL it started:\n{output}");
            using (var cluster = EmbeddedPostgres.StartOrAttach(postgres, NullLogger.Instance))
            {
                await using var store = ToolingFixture.StoreOn(cluster.ConnectionString());
                await ReadModelTables.ShouldBeAsBeforeAsync(store, tablesBefore, output);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Left in the temporary directory; nothing runs from it.
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_document_write_that_fails_halfway_writes_nothing(bool byCancellation)
    {
        await using var store = ToolingFixture.NewStore("rbcopy", options => options.Schema.For<HalfwayDocument>());
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        using var cancel = new CancellationTokenSource();
        var changes = new DocumentChanges(new DocumentIdentities(store));
        for (var i = 0; i < 500; i++)
            changes.Upsert(typeof(HalfwayDocument), new HalfwayDocument
            {
                Id = $"doc{i}",
                WhenSerialised = i != 250 ? null : byCancellation ? cancel.Cancel : () => throw new InvalidDataException("this document cannot be written"),
            });

        // Several COPY batches: the failure comes after the first ones were sent.
        var write = () => new StoreDocumentWriter(store, batchSize: 100).WriteAsync(changes, cancel.Token);
        if (byCancellation) await write.Should().ThrowAsync<OperationCanceledException>();
        else await write.Should().ThrowAsync<InvalidDataException>();

        await using var session = store.QuerySession();
        (await session.Query<HalfwayDocument>().CountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task A_rebuild_of_a_healthy_store_holding_a_tombstone_stream_succeeds_and_verifies_only_rooms()
    {
        await using var store = ToolingFixture.NewStore("tombstone");
        var seeded = await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 3, Members = 4, Events = 25, Seed = 21 });
        await using (var session = store.LightweightSession())
        {
            // A failed append (here: starting a stream that exists) makes Marten write tombstones to its own stream.
            session.Events.StartStream(seeded.RoomIds[0], (await session.Events.FetchStreamAsync(seeded.RoomIds[0]))[^1].Data);
            await FluentActions.Awaiting(() => session.SaveChangesAsync()).Should().ThrowAsync<Marten.Exceptions.ExistingStreamIdCollisionException>();
        }
        (await TombstonesAsync(store)).Should().BeGreaterThan(0, "the failed append left tombstones");

        var rebuilt = await ToolingFixture.Rebuilder(store).RebuildAsync(new RebuildOptions { VerifySample = 100 }, new SilentProgress(), default);

        rebuilt.Verification!.Mismatches.Should().BeEmpty();
        rebuilt.Verification.RoomsChecked.Should().Be(3);
        (await new RebuildVerifier(store).SampleRoomsAsync(100, default)).Should().BeEquivalentTo(seeded.RoomIds, "only rooms are sampled");
    }

    [Fact]
    public async Task The_switched_in_tables_are_the_ones_Marten_defines_and_the_rebuild_leaves_no_schema_behind()
    {
        await using var store = ToolingFixture.NewStore("rbswitch");
        await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 2, Members = 3, Events = 30, Seed = 31 });
        var before = await ToolingFixture.ReadModelAsync(store);

        var rebuilt = await ToolingFixture.Rebuilder(store).RebuildAsync(new RebuildOptions { PageSize = 11 }, new SilentProgress(), default);

        rebuilt.Switched.Should().BeTrue();
        (await ToolingFixture.ReadModelAsync(store)).ShouldEqualReadModel(before);
        // Marten's own schema check: same columns, indexes and constraint names as it would create itself.
        await store.Storage.Database.AssertDatabaseMatchesConfigurationAsync();
        (await ReadModelTables.FingerprintAsync(store)).Keys.Should().OnlyContain(table => table.StartsWith("public."));
    }

    [Fact]
    public async Task A_second_rebuild_of_the_same_database_is_refused_while_one_runs()
    {
        await using var store = ToolingFixture.NewStore("rbtwice");
        await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 1, Members = 3, Events = 20, Seed = 32 });
        var tablesBefore = await ReadModelTables.FingerprintAsync(store);
        await using var running = store.Storage.Database.CreateConnection();
        await running.OpenAsync();
        await using (var hold = new NpgsqlCommand($"select pg_advisory_lock({RebuildStaging.RebuildLockKey})", running))
            await hold.ExecuteNonQueryAsync();

        var rebuild = () => ToolingFixture.Rebuilder(store).RebuildAsync(new RebuildOptions(), new SilentProgress(), default);

        (await rebuild.Should().ThrowAsync<RebuildFailedException>()).WithMessage("Another rebuild is running*");
        await ReadModelTables.ShouldBeAsBeforeAsync(store, tablesBefore, "the refused rebuild changed nothing");
    }

    /// <summary>Marten writes the tombstones of a failed append in the background: waits (bounded) until they are there.</summary>
    private static async Task<long> TombstonesAsync(IDocumentStore store)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync();
        for (var attempt = 0; ; attempt++)
        {
            await using var cmd = new NpgsqlCommand("select count(*) from mt_events where stream_id = @tombstones", connection);
            cmd.Parameters.AddWithValue("tombstones", JasperFx.StorageConstants.TombstoneStreamKey);
            var count = (long)(await cmd.ExecuteScalarAsync())!;
            if (count > 0 || attempt == 100) return count;
            await Task.Delay(100);
        }
    }
}

/// <summary>A document whose serialisation can be made to fail (or to cancel the write) halfway through a COPY.</summary>
[Marten.Schema.DocumentAlias("halfwaydocument")]
public sealed class HalfwayDocument
{
    public required string Id { get; init; }

    [System.Text.Json.Serialization.JsonIgnore] public Action? WhenSerialised { get; init; }

    public string Payload
    {
        get
        {
            WhenSerialised?.Invoke();
            return "x";
        }
    }
}

public enum UnreadableKind
{
    /// <summary>Content nested deeper than System.Text.Json reads by default (64).</summary>
    NestedDeeperThanTheReader,

    /// <summary>Valid JSON that is not a member event although the row says it is one (content is a string).</summary>
    NotAnEventOfItsType,
}

/// <summary>An event appended underneath the engine: where it is (room, version, sequence) and its Matrix event ID.</summary>
public sealed record UnreadableEvent(string StreamKey, long Version, long Sequence, string EventId);

/// <summary>Appends an event the engine cannot read straight into <c>mt_events</c> (test code only), and removes it again.</summary>
public static class UnreadableEvents
{
    public static async Task<UnreadableEvent> AppendAsync(IDocumentStore store, string roomId, UnreadableKind kind)
    {
        var eventId = "$unreadable" + Guid.NewGuid().ToString("N");
        var (type, dotnet, json) = kind switch
        {
            UnreadableKind.NestedDeeperThanTheReader => ("m.room.message", "Matrix.Rooms.Domain.Events.MessageEvent, Matrix.Rooms.Domain",
                $$$"""{"type":"m.room.message","room_id":"{{{roomId}}}","event_id":"{{{eventId}}}","sender":"@mallory:localhost","origin_server_ts":1,"content":{"msgtype":"m.text","body":"x","x":{{{new string('[', JsonInputPolicy.ReadDepth + 10)}}}{{{new string(']', JsonInputPolicy.ReadDepth + 10)}}}}}"""),
            UnreadableKind.NotAnEventOfItsType => ("m.room.member", "Matrix.Rooms.Domain.Events.MemberEvent, Matrix.Rooms.Domain",
                $$"""{"type":"m.room.member","room_id":"{{roomId}}","event_id":"{{eventId}}","sender":"@mallory:localhost","origin_server_ts":1,"state_key":"@mallory:localhost","content":"join"}"""),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var append = new NpgsqlCommand(
            "update mt_streams set version = version + 1, timestamp = now() where id = @room returning version", connection, transaction);
        append.Parameters.AddWithValue("room", roomId);
        var version = (long)(await append.ExecuteScalarAsync())!;
        await using var insert = new NpgsqlCommand(
            "insert into mt_events (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type, is_archived) " +
            "values (nextval('mt_events_sequence'), @id, @room, @version, @data::jsonb, @type, now(), '*DEFAULT*', @dotnet, false) returning seq_id",
            connection, transaction);
        insert.Parameters.AddWithValue("id", Guid.NewGuid());
        insert.Parameters.AddWithValue("room", roomId);
        insert.Parameters.AddWithValue("version", version);
        insert.Parameters.AddWithValue("data", json);
        insert.Parameters.AddWithValue("type", type);
        insert.Parameters.AddWithValue("dotnet", dotnet);
        var sequence = (long)(await insert.ExecuteScalarAsync())!;
        await transaction.CommitAsync();
        return new UnreadableEvent(roomId, version, sequence, eventId);
    }

    /// <summary>Takes the event out again, so the other tests on the shared database can rebuild.</summary>
    public static async Task RemoveAsync(IDocumentStore store, UnreadableEvent unreadable)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync();
        await using var remove = new NpgsqlCommand(
            "delete from mt_events where seq_id = @seq; update mt_streams set version = version - 1 where id = @room and version = @version",
            connection);
        remove.Parameters.AddWithValue("seq", unreadable.Sequence);
        remove.Parameters.AddWithValue("room", unreadable.StreamKey);
        remove.Parameters.AddWithValue("version", unreadable.Version);
        await remove.ExecuteNonQueryAsync();
    }
}

public static class ReadModelTables
{
    /// <summary>
    /// Every document table in the database (any schema, so a staging table left behind shows too), as
    /// "schema.table" → "rows:md5 of every row's every column in id order".
    /// </summary>
    public static async Task<Dictionary<string, string>> FingerprintAsync(IDocumentStore store)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
                         "select quote_ident(table_schema) || '.' || quote_ident(table_name) from information_schema.tables " +
                         "where table_name like 'mt\\_doc\\_%' and table_type = 'BASE TABLE' order by 1", connection))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        var fingerprint = new Dictionary<string, string>();
        foreach (var table in tables)
        {
            await using var cmd = new NpgsqlCommand($"select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t.id)), '') from {table} t", connection);
            fingerprint[table] = (string)(await cmd.ExecuteScalarAsync())!;
        }
        return fingerprint;
    }

    /// <summary>
    /// Every table there was is exactly as it was; a table that is new is one Marten created empty in the serving schema
    /// (the rebuild applies the store's configuration first, which creates the tables of document types not used yet).
    /// </summary>
    public static async Task ShouldBeAsBeforeAsync(IDocumentStore store, Dictionary<string, string> before, string because)
    {
        var after = await FingerprintAsync(store);
        after.Where(t => before.ContainsKey(t.Key)).Should().Equal(before, because);
        after.Where(t => !before.ContainsKey(t.Key) && !(t.Key.StartsWith("public.") && t.Value == "0:")).Should().BeEmpty(because);
    }
}

/// <summary>The few client-API calls the safety tests make, over the fixture Host's in-memory HTTP.</summary>
public sealed class RoomsClient(IAlbaHost host)
{
    public async Task<string> RegisterAsync()
    {
        var json = await SendAsync(HttpMethod.Post, "/_matrix/client/v3/register", new JsonObject
        {
            ["username"] = "safety" + Guid.NewGuid().ToString("N")[..10], ["password"] = "correct horse battery",
            ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        }, null);
        return json["access_token"]!.GetValue<string>();
    }

    public async Task<string> CreateRoomAsync(string token) =>
        (await SendAsync(HttpMethod.Post, "/_matrix/client/v3/createRoom", new JsonObject(), token))["room_id"]!.GetValue<string>();

    public Task SendMessageAsync(string token, string room, string body) =>
        PutAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/send/m.room.message/{Guid.NewGuid():N}",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = body }, token);

    public Task PutAsync(string url, JsonObject body, string token) => SendAsync(HttpMethod.Put, url, body, token);

    /// <summary>What the Host serves for each room (state, members, the latest messages), as "room url" → status and body.</summary>
    public async Task<Dictionary<string, string>> ReadAllAsync(IEnumerable<string> rooms, string token)
    {
        var served = new Dictionary<string, string>();
        foreach (var room in rooms)
            foreach (var read in new[] { "state", "members", "messages?dir=b&limit=50", "state/m.room.name/" })
            {
                var url = $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/{read}";
                var result = await host.Scenario(s =>
                {
                    s.Get.Url(url);
                    s.WithBearerToken(token);
                    s.IgnoreStatusCode();
                });
                served[url] = $"{result.Context.Response.StatusCode} {await result.ReadAsTextAsync()}";
            }
        return served;
    }

    private async Task<JsonObject> SendAsync(HttpMethod method, string url, JsonObject body, string? token)
    {
        var result = await host.Scenario(s =>
        {
            if (method == HttpMethod.Put) s.Put.Url(url);
            else s.Post.Url(url);
            s.Body.TextIs(body.ToJsonString());
            if (token is not null) s.WithBearerToken(token);
            s.IgnoreStatusCode();
        });
        var text = await result.ReadAsTextAsync();
        result.Context.Response.StatusCode.Should().Be(200, $"{method} {url} answered {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}
