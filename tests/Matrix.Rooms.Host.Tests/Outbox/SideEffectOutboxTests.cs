using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Host.Tests.ThirdPartyInvites;
using Matrix.Rooms.IdentityServer;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;
using Wolverine.Tracking;

namespace Matrix.Rooms.Host.Tests.Outbox;

/// <summary>
/// The identity server's side effects leave through Wolverine's outbox (see docs/third-party-invites.md, "The outbox"):
/// a bind notification the homeserver fails is retried without a second bind; an invitation mail follows a committed
/// invite; a refused invite publishes no mail.
/// </summary>
[Collection(ThirdPartyInviteCollection.Name)]
public sealed class SideEffectOutboxTests(ThirdPartyInviteFixture host)
{
    [Fact]
    public async Task A_bind_notification_the_homeserver_fails_twice_is_retried_until_the_invite_is_exchanged()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (bob, bobToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        var address = ThirdPartyInviteFixture.NewAddress();
        await host.PostOkAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken);
        var (sid, secret) = await host.ValidateEmailAsync(address, bobToken);

        host.EmbeddingHomeserver.FailNext(2);
        try
        {
            // One bind, and no other: the notification's retries are the outbox's.
            await host.PostOkAsync("/_matrix/client/v3/account/3pid/bind", new JsonObject
            {
                ["sid"] = sid, ["client_secret"] = secret, ["id_server"] = "localhost", ["id_access_token"] = bobToken,
            }, bobToken);
            await host.WaitForInvitesDeliveredAsync(address);
        }
        finally
        {
            host.EmbeddingHomeserver.OnBindCalls.Should().Be(3, "two 500s, then the notification that went through");
            host.EmbeddingHomeserver.FailNext(0);
        }

        (await host.EventsAsync(roomId)).OfType<MemberEvent>().Single(m => m.StateKey == bob).Membership.Should().Be("invite");

        // The envelopes, and the dead letters an operator reads, are in the identity store's own schema.
        await using var connection = host.Host.Services.GetRequiredService<IIdentityStore>().Storage.Database.CreateConnection();
        await connection.OpenAsync();
        await using var tables = connection.CreateCommand();
        tables.CommandText = "select count(*) from information_schema.tables where table_schema = 'identity' " +
                             "and table_name in ('wolverine_incoming_envelopes', 'wolverine_dead_letters')";
        (await tables.ExecuteScalarAsync()).Should().Be(2L);
    }

    [Fact]
    public async Task An_invitation_mail_is_in_the_mail_drop_once_the_invite_has_committed()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var roomId = await host.CreateRoomAsync(aliceToken);
        var address = ThirdPartyInviteFixture.NewAddress();

        var tracked = await host.Host.TrackActivity().Timeout(TimeSpan.FromSeconds(60)).ExecuteAndWaitAsync((Func<IMessageContext, Task>)(async _ =>
            await host.PostOkAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, aliceToken), aliceToken)));

        tracked.Executed.MessagesOf<SendIdentityMail>().Should().ContainSingle(m => m.Address == address && m.Kind == "invitation");
        (await host.EventsAsync(roomId)).OfType<ThirdPartyInviteEvent>().Should().ContainSingle();
        var mail = await ThirdPartyInviteFixture.MailAsync(host.MailDrop, text => text.Contains($"To: {address}"));
        mail.Should().Contain("X-Matrix-Rooms-Mail: invitation").And.Contain($"Room ID: {roomId}");
    }

    [Fact]
    public async Task A_refused_invite_publishes_and_sends_no_mail()
    {
        var (_, aliceToken) = await host.RegisterAsync();
        var (_, bobToken) = await host.RegisterAsync();
        // public_chat: the invite level is 50; Bob joins with 0.
        var roomId = await host.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "public_chat" });
        await host.PostOkAsync($"/_matrix/client/v3/join/{Uri.EscapeDataString(roomId)}", new JsonObject(), bobToken);
        var address = ThirdPartyInviteFixture.NewAddress();

        var status = 0;
        var tracked = await host.Host.TrackActivity().Timeout(TimeSpan.FromSeconds(60)).ExecuteAndWaitAsync((Func<IMessageContext, Task>)(async _ =>
            status = (await host.PostAsync(ThirdPartyInviteFixture.InviteUrl(roomId), ThirdPartyInviteFixture.ThirdPartyInvite(address, bobToken), bobToken)).Status));

        status.Should().Be(403);
        tracked.Sent.MessagesOf<SendIdentityMail>().Should().BeEmpty();
        (Directory.Exists(host.MailDrop) ? Directory.GetFiles(host.MailDrop, "*.eml").Select(File.ReadAllText) : [])
            .Should().NotContain(text => text.Contains(address), "nothing was committed, so nothing was sent");
    }
}
