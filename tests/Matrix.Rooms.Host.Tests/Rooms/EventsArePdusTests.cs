using System.Diagnostics;
using System.Text.Json.Nodes;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Tests.Support;
using Matrix.Rooms.Host.Tests.Tooling;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Host.Tests.Rooms;

/// <summary>
/// Every appended event is a PDU of its room version (auth_events, depth, prev_events, content hash, the server's
/// signature, from v3 the reference-hash event ID), verifiable with the key <c>/_matrix/key/v2/server</c> publishes —
/// by the engine's Domain code and, after an export, by an independent implementation (PyNaCl).
/// </summary>
[Collection(HostCollection.Name)]
public sealed class EventsArePdusTests(HostFixture host)
{
    [Theory]
    [InlineData("1")]
    [InlineData("3")]
    [InlineData("4")]
    [InlineData("10")]
    [InlineData("12")]
    public async Task An_event_sent_over_HTTP_is_a_signed_PDU_whose_ID_is_its_reference_hash(string versionId)
    {
        var version = RoomVersion.Get(versionId)!;
        var (_, token) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(token, new JsonObject { ["room_version"] = versionId });
        var txn = Guid.NewGuid().ToString("N");
        var (status, sent) = await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/send/m.room.message/{txn}",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = "signed" }.ToJsonString(), token);
        status.Should().Be(200, sent.ToJsonString());
        var eventId = sent["event_id"]!.GetValue<string>();

        var stream = await StreamAsync(roomId);
        var stored = stream[^1];
        stored.EventId.Should().Be(eventId, "the answer names the stored event");
        var json = stored.ToJson();
        json["depth"]!.GetValue<long>().Should().Be(stream.Count, "a line of events: depth = position");
        json["hashes"]!["sha256"]!.GetValue<string>().Should().NotBeEmpty();
        var authIds = json["auth_events"]!.AsArray()
            .Select(a => version.EventIdsHaveDomain ? a!.AsArray()[0]!.GetValue<string>() : a!.GetValue<string>()).ToList();
        authIds.Should().BeSubsetOf(stream.Select(e => e.EventId)).And.HaveCount(version.RoomIdIsCreateEventId ? 2 : 3,
            "power levels and the sender's membership (and, before v12, the create event)");
        var prev = json["prev_events"]!.AsArray()[0]!;
        (version.EventIdsHaveDomain ? prev.AsArray()[0]!.GetValue<string>() : prev.GetValue<string>()).Should().Be(stream[^2].EventId);
        foreach (var (ev, i) in stream.Select((e, i) => (e, i)).Skip(1))
            (ev.PrevEvents![0] is JsonArray pair ? pair[0]!.GetValue<string>() : ev.PrevEvents[0]!.GetValue<string>())
                .Should().Be(stream[i - 1].EventId, "each event names the final ID of the one before");
        if (version.EventIdsHaveDomain)
            // v1–v2: [event_id, {"sha256": reference hash}] — within createRoom's write and across writes (the send
            // follows the stored head, whose hash RoomHead keeps).
            foreach (var (ev, i) in stream.Select((e, i) => (e, i)).Skip(1))
                ((JsonArray)ev.PrevEvents![0]!)[1]!["sha256"]!.GetValue<string>()
                    .Should().Be(UnpaddedBase64.Encode(EventHashes.ReferenceHash(Pdu.Of(stream[i - 1], version), version)), $"event {i}'s prev_events pair");

        if (!version.EventIdsHaveDomain)
        {
            stored.EventId.Should().Be(EventHashes.EventId(Pdu.Of(stored, version), version));
            stored.EventId.Should().MatchRegex(version.UrlSafeEventIds ? "^\\$[A-Za-z0-9_-]{43}$" : "^\\$[A-Za-z0-9+/]{43}$");
            stream.Should().OnlyContain(e => e.EventId == EventHashes.EventId(Pdu.Of(e, version), version));
        }

        var key = await PublishedKeyAsync(token);
        stream.Should().OnlyContain(e => PduVerification.Check(e, version, new[] { key }).Problem == null);
        PduVerification.Check(stored, version, [key]).Signatures.Should().ContainSingle(s => s.Valid == true);

        // A retransmission answers the final ID too.
        var (again, retried) = await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/send/m.room.message/{txn}",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = "signed" }.ToJsonString(), token);
        again.Should().Be(200);
        retried["event_id"]!.GetValue<string>().Should().Be(eventId);
    }

    [Fact]
    public async Task The_key_response_is_signed_by_the_key_it_publishes()
    {
        var (status, body) = await host.SendAsync(HttpMethod.Get, "/_matrix/key/v2/server");
        status.Should().Be(200, body.ToJsonString());
        body["server_name"]!.GetValue<string>().Should().Be("localhost");
        body["old_verify_keys"]!.AsObject().Should().BeEmpty();
        body["valid_until_ts"]!.GetValue<long>().Should().BeGreaterThan(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var (keyId, key) = body["verify_keys"]!.AsObject().Single();
        keyId.Should().MatchRegex("^ed25519:[A-Za-z0-9_]+$");
        Ed25519Signing.VerifyJson(body, "localhost", keyId, UnpaddedBase64.Decode(key!["key"]!.GetValue<string>())).Should().BeTrue();
        (await host.SendAsync(HttpMethod.Get, "/_matrix/key/v2/server")).Body["verify_keys"]!.ToJsonString()
            .Should().Be(body["verify_keys"]!.ToJsonString(), "the key is generated once");
    }

    [Theory]
    [InlineData("4")]
    [InlineData("12")]
    public async Task Exported_events_verify_with_PyNaCl_and_an_import_reports_a_tampered_line(string versionId)
    {
        var (_, token) = await host.RegisterAsync();
        var (guest, guestToken) = await host.RegisterGuestAsync();
        var roomId = await host.CreateRoomAsync(token, new JsonObject { ["room_version"] = versionId, ["name"] = "exported", ["preset"] = "private_chat" });
        await host.SendMessageAsync(token, roomId, "héllo ☃ \u2028 wörld");
        (await host.PostAsync($"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}/invite", new JsonObject { ["user_id"] = guest }, token))
            .Status.Should().Be(200);
        (await host.JoinAsync(guestToken, roomId)).Status.Should().Be(200);
        // Withdrawing guest access appends the guest's leave in the same append: both are PDUs.
        await host.SetStateAsync(token, roomId, "m.room.guest_access", new JsonObject { ["guest_access"] = "forbidden" });

        var store = host.Host.Services.GetRequiredService<IDocumentStore>();
        var exported = await ToolingFixture.ExportAsync(store, [roomId]);
        var lines = exported.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        lines.Select(l => JsonNode.Parse(l)!["type"]!.GetValue<string>()).Should().EndWith(["m.room.guest_access", "m.room.member"]);
        var path = Path.Combine(Path.GetTempPath(), $"pdus-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(path, exported);
        var keyResponse = (await host.SendAsync(HttpMethod.Get, "/_matrix/key/v2/server")).Body;
        var (keyId, key) = keyResponse["verify_keys"]!.AsObject().Single();

        var (exit, output) = await PythonAsync(path, "localhost", keyId, key!["key"]!.GetValue<string>(), versionId);
        exit.Should().Be(0, output);
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(lines.Count).And.OnlyContain(l => l.Contains(" ok"));

        // The independent check can fail: a changed body breaks the content hash (and, from v3, nothing else it signs).
        var tampered = lines.ToList();
        var at = tampered.FindIndex(l => l.Contains("\"m.room.message\""));
        tampered[at] = tampered[at].Replace("wörld", "world");
        var tamperedPath = path + ".tampered";
        await File.WriteAllLinesAsync(tamperedPath, tampered);
        var (tamperedExit, tamperedOutput) = await PythonAsync(tamperedPath, "localhost", keyId, key!["key"]!.GetValue<string>(), versionId);
        tamperedExit.Should().Be(1, tamperedOutput);
        tamperedOutput.Should().Contain("content hash mismatch");

        // The verify command, offline, with the published key response.
        var keysPath = path + ".keys.json";
        await File.WriteAllTextAsync(keysPath, keyResponse.ToJsonString());
        new Matrix.Rooms.Tooling.Commands.VerifyCommand().Execute(new() { File = path, KeysFlag = [keysPath] }).Should().BeTrue();
        new Matrix.Rooms.Tooling.Commands.VerifyCommand().Execute(new() { File = tamperedPath, KeysFlag = [keysPath] }).Should().BeFalse();

        // Import into another store holding this server's key: the untouched export imports, the tampered one is reported at its line.
        var signingKey = await ServerSigningKeys.LoadAsync(store.QuerySession(), "localhost");
        var target = ToolingFixture.NewStore("pduimport");
        await target.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await using (var session = target.LightweightSession())
        {
            session.Store(signingKey!);
            await session.SaveChangesAsync();
        }
        var tamperedResult = await ToolingFixture.Importer(target).ImportAsync(tamperedPath, new SilentProgress(), default);
        tamperedResult.Failures.Should().ContainSingle().Which.Should().Match<Matrix.Rooms.Tooling.Transfer.ImportFailure>(f =>
            f.Line == at + 1 && f.Reason.Contains("does not verify") && f.Reason.Contains("content hash"));
        var result = await ToolingFixture.Importer(target).ImportAsync(path, new SilentProgress(), default);
        result.Failures.Should().BeEmpty();
        (result.RoomsImported, result.EventsImported, result.UnverifiedEvents).Should().Be((1, (long)lines.Count, 0L));
        (await ToolingFixture.ExportAsync(target)).Should().Be(exported, "the PDUs are stored as they were");

        // A store without the key: the hash and event ID are still checked, the signature reported as unverified.
        var keyless = ToolingFixture.NewStore("pduimportnokey");
        var unverified = await ToolingFixture.Importer(keyless).ImportAsync(path, new SilentProgress(), default);
        unverified.Failures.Should().BeEmpty();
        unverified.UnverifiedEvents.Should().Be(lines.Count);
    }

    private async Task<List<MatrixEvent>> StreamAsync(string roomId)
    {
        await using var session = host.Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return (await session.Events.FetchStreamAsync(roomId)).Select(e => (MatrixEvent)e.Data).ToList();
    }

    private async Task<ServerVerifyKey> PublishedKeyAsync(string token)
    {
        var (_, body) = await host.GetAsync("/_matrix/key/v2/server", token);
        var (keyId, key) = body["verify_keys"]!.AsObject().Single();
        return new ServerVerifyKey(body["server_name"]!.GetValue<string>(), keyId, UnpaddedBase64.Decode(key!["key"]!.GetValue<string>()));
    }

    /// <summary>tests/scripts/verify_pdus.py with Debian's python3 and python3-nacl (installed when missing).</summary>
    private static async Task<(int Exit, string Output)> PythonAsync(params string[] args)
    {
        await Clients.ClientPrograms.EnsureDebianPythonModuleAsync("nacl", "python3-nacl");
        var script = Path.Combine(RepositoryRoot(), "tests", "scripts", "verify_pdus.py");
        var start = new ProcessStartInfo(Clients.ClientPrograms.DebianPython) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Matrix.Rooms.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Matrix.Rooms.sln not found above " + AppContext.BaseDirectory);
    }
}
