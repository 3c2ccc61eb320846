using Marten;
using NodaTime;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites;

/// <summary>A bind an identity server confirmed for <c>POST /account/3pid/bind</c>, recorded on the account ("Homeservers should track successful binds").</summary>
public sealed record RecordThreepidBinding(string UserId, string Medium, string Address, string IdServer);

public static class RecordThreepidBindingHandler
{
    /// <summary>Stored through the session Wolverine's transactional middleware commits, like every other write.</summary>
    public static void Handle(RecordThreepidBinding command, IDocumentSession session, IClock clock) =>
        session.Store(new AccountThreepidBinding
        {
            Id = AccountThreepidBinding.IdFor(command.UserId, command.Medium, command.Address), UserId = command.UserId,
            Medium = command.Medium, Address = command.Address, IdServer = command.IdServer, BoundAt = clock.GetCurrentInstant(),
        });
}
