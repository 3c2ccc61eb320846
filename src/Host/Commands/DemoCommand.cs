using JasperFx.CommandLine;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Projections.Documents;
using Wolverine;

namespace Matrix.Rooms.Host.Commands;

public sealed class DemoInput : NetCoreInput;

[Description("Creates a room, invites a user, shows a refused invite and prints the membership projection", Name = "demo")]
public sealed class DemoCommand : JasperFxAsyncCommand<DemoInput>
{
    public override async Task<bool> Execute(DemoInput input)
    {
        using var host = input.BuildHost();
        await host.StartAsync();
        using var scope = host.Services.CreateScope();
        var bus = scope.ServiceProvider.GetRequiredService<IMessageBus>();
        var suffix = Guid.NewGuid().ToString("N")[..6];

        var alice = await Register(bus, $"alice_{suffix}");
        var bob = await Register(bus, $"bob_{suffix}");
        var mallory = await Register(bus, $"mallory_{suffix}");
        Console.WriteLine($"Registered {alice}, {bob} and {mallory}");

        var created = await bus.InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = alice, Name = "Demo room", Preset = Presets.PrivateChat });
        var roomId = created.RoomId ?? throw new InvalidOperationException(created.Error?.ToString());
        Console.WriteLine($"{alice} created {roomId}");

        var invited = await bus.InvokeAsync<RoomCommandResult>(new InviteUser { RoomId = roomId, Sender = alice, UserId = bob });
        Console.WriteLine($"{alice} invited {bob}: {invited.EventId ?? invited.Error?.ToString()}");

        var refused = await bus.InvokeAsync<RoomCommandResult>(new InviteUser { RoomId = roomId, Sender = mallory, UserId = bob });
        Console.WriteLine($"{mallory} tried to invite {bob}: refused with {refused.Error?.ToJson().ToJsonString()}");

        var joined = await bus.InvokeAsync<RoomCommandResult>(new JoinRoom { RoomId = roomId, Sender = bob });
        Console.WriteLine($"{bob} joined: {joined.EventId ?? joined.Error?.ToString()}");

        await using var session = host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        var members = await session.Query<RoomMember>().Where(m => m.RoomId == roomId).ToListAsync();
        Console.WriteLine($"Membership of {roomId} (from the room_members projection):");
        foreach (var m in members.OrderBy(m => m.StreamVersion))
            Console.WriteLine($"  {m.UserId,-32} {m.Membership,-7} (stream version {m.StreamVersion}, event {m.EventId})");

        await host.StopAsync();
        return members.Count(m => m.Membership == Memberships.Join) == 2 && refused.Error is not null;
    }

    private static async Task<string> Register(IMessageBus bus, string username)
    {
        var result = await bus.InvokeAsync<RegisterResult>(new RegisterAccount(username, "demo password 1", IsGuest: false, InhibitLogin: true));
        return result.UserId ?? throw new InvalidOperationException(result.Error?.ToString());
    }
}
