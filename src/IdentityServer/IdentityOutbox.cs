using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using NodaTime;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Runtime.Handlers;

namespace Matrix.Rooms.IdentityServer;

// The identity server's side effects. Each is a message published through Wolverine's transactional outbox in the same
// PostgreSQL transaction as the identity store's documents that cause it (OutboxedSessionFactory<IIdentityStore>, see
// IdentityService), then handled from the durable local queue below: a mail is written, or a homeserver notified, iff
// that transaction committed, and again when the receiver failed. Exhausted retries land in the identity store's dead
// letters (wolverine_dead_letters in the identity schema).

/// <summary>One e-mail for the mail drop. <see cref="Id"/> names the file, so a retry after a written file writes no second one.</summary>
public sealed record SendIdentityMail(Guid Id, DateTimeOffset CreatedAt, string Medium, string Address, string Kind, string Subject, string Body);

/// <summary>
/// The <c>/3pid/onbind</c> notification for a bind, signed, with the stored invites it hands over
/// (<see cref="InviteTokens"/>), which are marked delivered once the homeserver has processed it.
/// </summary>
public sealed record NotifyHomeserverOfBind(string Mxid, string Notification, IReadOnlyList<string> InviteTokens);

/// <summary>The homeserver did not process a bind notification (unreachable, timed out, 5xx): the outbox tries again.</summary>
public sealed class HomeserverNotificationFailedException(string message) : Exception(message);

public static class IdentityOutbox
{
    /// <summary>The durable local queue of the identity server's side effects (an operator sees it in <c>wolverine_incoming_envelopes</c>).</summary>
    public const string Queue = "identity-side-effects";

    internal static void Configure(WolverineOptions opts)
    {
        opts.Discovery.IncludeAssembly(typeof(IdentityOutbox).Assembly);
        opts.LocalQueue(Queue).UseDurableInbox();
        opts.PublishMessage<SendIdentityMail>().ToLocalQueue(Queue);
        opts.PublishMessage<NotifyHomeserverOfBind>().ToLocalQueue(Queue);
    }
}

/// <summary>Writes a <see cref="SendIdentityMail"/> to the mail drop.</summary>
public static class IdentityMailHandler
{
    /// <summary>A full or unwritable disk may clear: a few quick tries, then later ones, then the dead letters.</summary>
    public static void Configure(HandlerChain chain) =>
        chain.OnException<IOException>().Or<UnauthorizedAccessException>()
            .RetryWithCooldown(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1))
            .Then.ScheduleRetry(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30))
            .Then.MoveToErrorQueue();

    public static Task Handle(SendIdentityMail mail, MailDrop drop, CancellationToken ct) =>
        drop.SendAsync(ThirdPartyId.Parse(mail.Medium, mail.Address).Value, mail.Kind, mail.Subject, mail.Body, ct, mail.Id, Instant.FromDateTimeOffset(mail.CreatedAt));
}

/// <summary>Delivers a <see cref="NotifyHomeserverOfBind"/> and marks its invites delivered.</summary>
public static class BindNotificationHandler
{
    /// <summary>
    /// A homeserver that is down or answers 5xx is tried again: quickly, then over about an hour and a half, then the
    /// notification is a dead letter (its invites stay pending, and the next bind of the address sends them again).
    /// </summary>
    public static void Configure(HandlerChain chain) =>
        chain.OnException<HomeserverNotificationFailedException>()
            .RetryWithCooldown(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2))
            .Then.ScheduleRetry(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1))
            .Then.MoveToErrorQueue();

    public static async Task Handle(NotifyHomeserverOfBind message, HomeserverClient homeservers, IIdentityStore store, IClock clock,
        CancellationToken ct)
    {
        var notification = JsonNode.Parse(message.Notification) as JsonObject
                           ?? throw new InvalidOperationException("A bind notification is not a JSON object");
        switch (await homeservers.NotifyBindAsync(message.Mxid, notification, ct))
        {
            case BindNotificationOutcome.Failed:
                throw new HomeserverNotificationFailedException($"The homeserver of {message.Mxid} did not process the bind notification");
            case BindNotificationOutcome.NotConfigured:
                return; // kept pending: nothing to retry until the homeserver is configured; the next bind sends them again
        }
        await using var session = store.LightweightSession();
        var invites = await session.LoadManyAsync<IdentityStoredInvite>(ct, message.InviteTokens.ToArray());
        var now = clock.GetCurrentInstant();
        foreach (var invite in invites.Where(i => i.DeliveredAt is null)) session.Store(invite with { DeliveredAt = now, DeliveredTo = message.Mxid });
        await session.SaveChangesAsync(ct);
    }
}
