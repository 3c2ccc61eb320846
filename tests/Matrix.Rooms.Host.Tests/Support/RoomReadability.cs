using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Host.Features.Admin;
using Matrix.Rooms.Tooling.Transfer;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.Support;

/// <summary>
/// "The room stays readable": every read a client or an operator makes of a room answers 200 — the timeline both ways,
/// initialSync, state, members, each event by ID and in context, the admin API's time travel, and export.
/// </summary>
public static class RoomReadability
{
    /// <returns>The event IDs the timeline holds (newest first).</returns>
    public static async Task<IReadOnlyList<string>> AssertReadableAsync(this HostFixture host, string roomId, string token)
    {
        var room = $"/_matrix/client/v3/rooms/{HostFixture.Room(roomId)}";
        var ids = new List<string>();
        string? from = null;
        for (var page = 0; page < 50; page++)
        {
            var (status, body) = await host.GetAsync($"{room}/messages?dir=b&limit=100{(from is null ? "" : "&from=" + Uri.EscapeDataString(from))}", token);
            status.Should().Be(200, $"/messages of {roomId}: {body.ToJsonString()}");
            var chunk = body["chunk"]!.AsArray();
            ids.AddRange(chunk.Select(e => e!["event_id"]!.GetValue<string>()));
            from = body["end"]?.GetValue<string>();
            if (chunk.Count == 0 || from is null) break;
        }
        foreach (var url in new[] { $"{room}/messages?dir=f&limit=100", $"{room}/initialSync", $"{room}/state", $"{room}/members", $"{room}/joined_members" })
        {
            var (status, body) = await host.GetAsync(url, token);
            status.Should().Be(200, $"GET {url}: {body.ToJsonString()}");
        }
        foreach (var id in ids.Take(20))
        {
            var escaped = Uri.EscapeDataString(id);
            (await host.GetAsync($"{room}/event/{escaped}", token)).Status.Should().Be(200, $"/event/{id}");
            (await host.GetAsync($"{room}/context/{escaped}", token)).Status.Should().Be(200, $"/context/{id}");
        }
        var (adminStatus, _, admin) = await host.SendRawAsync("GET", $"{AdminApi.Prefix}/rooms/{HostFixture.Room(roomId)}/state", null);
        adminStatus.Should().Be(200, $"admin state of {roomId}: {admin?.ToJsonString()}");

        var exporter = new EventExporter(host.Host.Services.GetRequiredService<IDocumentStore>());
        using var output = new MemoryStream();
        var exported = await exporter.ExportAsync(await exporter.ResolveRoomsAsync([roomId], default), output, new SilentObserver(), default);
        exported.Events.Should().Be(await host.StreamVersionAsync(roomId));
        foreach (var line in System.Text.Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            EventImporter.ParseLine(line).Error.Should().BeNull("every exported line can be imported again");
        return ids;
    }

    private sealed class SilentObserver : ITransferObserver
    {
        public void Started(long totalEvents, int rooms) { }
        public void Advance(long events) { }
        public void Note(string message) { }
    }
}
