using System.Text.Json;
using System.Text.Json.Nodes;
using JasperFx.CommandLine;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Tooling.Commands;

public sealed class VerifyInput
{
    [Description("An event (a JSON object) or JSON Lines of events (an 'export' file)")]
    public string File = "";

    [Description("A server's key response (the JSON of GET /_matrix/key/v2/server) whose verify_keys check the signatures; repeatable")]
    public List<string> KeysFlag = [];

    [Description("Room version (default: that of the file's m.room.create event)")]
    public string? RoomVersionFlag;
}

[Description("Checks events' content hashes, reference-hash event IDs and signatures: one line per event; fails if any does not verify",
    Name = "verify")]
public sealed class VerifyCommand : JasperFxCommand<VerifyInput>
{
    public override bool Execute(VerifyInput input)
    {
        try
        {
            var keys = input.KeysFlag.SelectMany(path => KeysOf(Read(path))).ToList();
            var events = EventsOf(Read(input.File)).ToList();
            var versionId = input.RoomVersionFlag ?? events.OfType<CreateEvent>().FirstOrDefault()?.RoomVersion
                ?? throw new InvalidOperationException("No m.room.create event in the file: name the room version with --room-version");
            var version = RoomVersion.Get(versionId) ?? throw new InvalidOperationException($"Unknown room version {versionId}");
            var failed = 0;
            foreach (var ev in events)
            {
                var check = PduVerification.Check(ev, version, keys);
                if (check.Problem is not null) failed++;
                Console.WriteLine($"{ev.EventId} {(check.Problem is null ? "ok" : "FAILED")}: {check}");
            }
            Console.WriteLine($"{events.Count - failed} verified, {failed} failed");
            return failed == 0;
        }
        catch (Exception e) when (e is JsonException or IOException or InvalidOperationException or FormatException)
        {
            Console.Error.WriteLine($"verify: {e.Message}");
            return false;
        }
    }

    /// <summary>The verify keys of a <c>/_matrix/key/v2/server</c> response.</summary>
    public static IEnumerable<ServerVerifyKey> KeysOf(string json)
    {
        var response = JsonInputPolicy.ParseOrThrow(json) as JsonObject ?? throw new JsonException("A key response is a JSON object");
        var server = response["server_name"]?.GetValue<string>() ?? throw new JsonException("The key response has no server_name");
        foreach (var (keyId, key) in response["verify_keys"] as JsonObject ?? [])
            yield return new ServerVerifyKey(server, keyId, UnpaddedBase64.Decode(key?["key"]?.GetValue<string>() ?? ""));
    }

    /// <summary>One event (possibly pretty-printed), or else one event a line.</summary>
    private static IEnumerable<MatrixEvent> EventsOf(string text)
    {
        try
        {
            if (JsonInputPolicy.ParseOrThrow(text) is JsonObject one) return [MatrixEvent.FromJson(one)];
        }
        catch (JsonException)
        {
            // Not one JSON value: JSON Lines.
        }
        return text.Split('\n').Where(l => l.Trim().Length > 0).Select(l => MatrixEvent.FromJson(l)).ToList();
    }

    private static string Read(string path) =>
        CommandPaths.Resolve(path) is var resolved && System.IO.File.Exists(resolved)
            ? System.IO.File.ReadAllText(resolved)
            : throw new IOException($"No such file: {path}");
}
