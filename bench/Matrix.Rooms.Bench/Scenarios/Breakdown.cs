using System.Diagnostics;
using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Bench.All;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Wolverine;

namespace Matrix.Rooms.Bench.Scenarios;

/// <summary>Where one command's time goes, single sender: through the bus, and the same write path without Wolverine.</summary>
public static class Breakdown
{
    public static async Task RunAsync(int n)
    {
        await using var host = await BenchHost.StartAsync();
        const string owner = "@bench_owner:localhost";
        var roomId = (await host.NewBus().InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = owner })).RoomId!;
        var bus = host.NewBus();
        SendRoomEvent Message(int i) => new() { RoomId = roomId, Sender = owner, EventType = "m.room.message", Content = new JsonObject { ["body"] = $"m{i}" } };
        for (var i = 0; i < 50; i++) await bus.InvokeAsync<RoomCommandResult>(Message(i));

        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++) await bus.InvokeAsync<RoomCommandResult>(Message(i));
        Console.WriteLine($"through IMessageBus: {sw.Elapsed.TotalMilliseconds / n:F3} ms/command");
        BenchMetrics.Record("send_bus_ms_c1", sw.Elapsed.TotalMilliseconds / n, "ms", note: "one sender, message commands through IMessageBus");

        var store = host.App.Services.GetRequiredService<IDocumentStore>();
        var metrics = host.App.Services.GetRequiredService<MatrixRoomsMetrics>();
        var signer = host.App.Services.GetRequiredService<Matrix.Rooms.Domain.Crypto.ServerSignature>();
        sw.Restart();
        for (var i = 0; i < n; i++)
        {
            await using var session = store.LightweightSession();
            await RoomWriter.DecideAndAppendAsync(Message(i), session, SystemClock.Instance, TimeSpan.FromSeconds(10), signer, metrics, CancellationToken.None);
            await session.SaveChangesAsync();
        }
        Console.WriteLine($"RoomWriter + SaveChanges without Wolverine: {sw.Elapsed.TotalMilliseconds / n:F3} ms/command");
        BenchMetrics.Record("send_direct_ms_c1", sw.Elapsed.TotalMilliseconds / n, "ms", note: "the same write path without Wolverine (RoomWriter + SaveChanges)");

        sw.Restart();
        for (var i = 0; i < n; i++)
        {
            await using var session = store.LightweightSession();
            await RoomWriter.LoadAsync(session, roomId, [new Matrix.Rooms.Domain.Events.StateKey("m.room.create", "")], CancellationToken.None);
        }
        Console.WriteLine($"load only (batched head + state rows): {sw.Elapsed.TotalMilliseconds / n:F3} ms");
        BenchMetrics.Record("room_load_ms", sw.Elapsed.TotalMilliseconds / n, "ms", note: "the batched read of the room head and state rows alone");
    }
}
