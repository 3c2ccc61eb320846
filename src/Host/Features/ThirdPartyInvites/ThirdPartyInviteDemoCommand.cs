using Matrix.Rooms.Host.Commands;
using JasperFx.CommandLine;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;
using Matrix.Rooms.IdentityServer;
using Matrix.Rooms.Projections.Documents;
using Wolverine;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites;

public sealed class ThirdPartyInviteDemoInput : NetCoreInput;

/// <summary>
/// <c>demo-3pid</c>: the third-party invite flow end to end with the embedded identity server, through the message
/// bus and the identity server's own operations: invite an e-mail address, read the validation token from the mail
/// drop, validate, bind, see the invite exchanged, join, and print the <c>third_party_invites</c> projection.
/// </summary>
[Description("Invites an e-mail address, validates and binds it with the embedded identity server (token read from the mail drop), and joins", Name = "demo-3pid")]
public sealed class ThirdPartyInviteDemoCommand : JasperFxAsyncCommand<ThirdPartyInviteDemoInput>
{
    public override async Task<bool> Execute(ThirdPartyInviteDemoInput input)
    {
        using var host = input.BuildHost();
        await host.StartAsync();
        using var scope = host.Services.CreateScope();
        var bus = scope.ServiceProvider.GetRequiredService<IMessageBus>();
        var identity = host.Services.GetRequiredService<IdentityService>();
        var mailDrop = host.Services.GetRequiredService<MailDrop>();
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var address = $"someone.{suffix}@example.org";

        var alice = await Register(bus, $"alice_{suffix}");
        var bob = await Register(bus, $"bob_{suffix}");
        var roomId = (await bus.InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = alice, Name = "3PID demo", Preset = Presets.PrivateChat })).RoomId!;
        Console.WriteLine($"{alice} created {roomId}");

        var invited = await bus.InvokeAsync<RoomCommandResult>(new InviteByThirdPartyId
            { RoomId = roomId, Sender = alice, IdServer = "localhost", Medium = Media.Email, Address = address });
        Console.WriteLine($"{alice} invited {address}: {invited.EventId ?? invited.Error?.ToString()}");

        var sid = (await identity.RequestEmailTokenAsync("demo-secret", address, 1, null, "http://localhost:8008", default)).Value;
        // The mail leaves through the identity server's outbox once the session has committed: wait for it (at most 30 s).
        var mail = await Eventually(() => Directory.Exists(mailDrop.Folder)
            ? Directory.GetFiles(mailDrop.Folder, "*.eml").Select(path => (path, text: File.ReadAllText(path)))
                .SingleOrDefault(m => m.text.Contains($"Session: {sid}", StringComparison.Ordinal))
            : default);
        var token = mail.text.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("Token: ", StringComparison.Ordinal))["Token: ".Length..];
        Console.WriteLine($"Validation e-mail in the mail drop: {mail.path} (Token: {token})");
        Console.WriteLine($"submitToken: {(await identity.SubmitTokenAsync(sid, "demo-secret", token, default)).IsSuccess}");
        var bound = await identity.BindThreepidAsync(bob, sid, "demo-secret", bob, default);
        Console.WriteLine($"{bob} bound the address: {(bound.IsSuccess ? "ok" : bound.Error!.ToString())}");
        // So does the /3pid/onbind notification: wait until its invites are delivered (at most 30 s).
        var identityStore = host.Services.GetRequiredService<IIdentityStore>();
        await Eventually(async () =>
        {
            await using var identitySession = identityStore.QuerySession();
            return !await identitySession.Query<IdentityStoredInvite>().AnyAsync(i => i.Address == address && i.DeliveredAt == null);
        });

        var joined = await bus.InvokeAsync<RoomCommandResult>(new JoinRoom { RoomId = roomId, Sender = bob });
        Console.WriteLine($"{bob} joined: {joined.EventId ?? joined.Error?.ToString()}");

        await using var session = host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        Console.WriteLine($"Third-party invites of {roomId} (from the third_party_invites projection; no address anywhere):");
        foreach (var row in ThirdPartyInvite.Ordered(await session.Query<ThirdPartyInvite>().Where(i => i.RoomId == roomId).ToListAsync()))
            Console.WriteLine($"  {row.Token[..12]}…  {row.DisplayName,-14} by {row.Inviter}  {row.Status} → {row.InviteeUserId ?? "-"} ({row.MemberEventId ?? "-"})");
        var members = await session.Query<RoomMember>().Where(m => m.RoomId == roomId).ToListAsync();
        foreach (var m in members.OrderBy(m => m.StreamVersion))
            Console.WriteLine($"  {m.UserId,-32} {m.Membership}");

        await host.StopAsync();
        return members.Count(m => m.Membership == Memberships.Join) == 2;
    }

    private static Task<T> Eventually<T>(Func<T> probe) => Eventually(() => Task.FromResult(probe()));

    private static async Task<T> Eventually<T>(Func<Task<T>> probe)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var value = await probe();
            if (!EqualityComparer<T>.Default.Equals(value, default) || DateTime.UtcNow > deadline) return value;
            await Task.Delay(20);
        }
    }

    private static async Task<string> Register(IMessageBus bus, string username)
    {
        var result = await bus.InvokeAsync<RegisterResult>(new RegisterAccount(username, "demo password 1", IsGuest: false, InhibitLogin: true));
        return result.UserId ?? throw new InvalidOperationException(result.Error?.ToString());
    }
}
