using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>
/// Keeps <see cref="ThirdPartyInviteFact"/>: an <c>m.room.third_party_invite</c> with content is an invite (and, re-sent
/// for a token, a new one: the old exchange and revocation rows go); the same event with empty content (spec:
/// revocation) is a revocation; an <c>m.room.member</c> invite carrying <c>third_party_invite.signed.token</c> is the
/// exchange. Every row is written whole from its event (stores and deletes only), so the bulk replay can rebuild it.
/// </summary>
public sealed partial class ThirdPartyInviteProjection : EventProjection
{
    public ThirdPartyInviteProjection()
    {
        Name = "third_party_invites";
        IncludeType<ThirdPartyInviteEvent>();
        IncludeType<MemberEvent>();
    }

    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        switch (e.Data)
        {
            case ThirdPartyInviteEvent { StateKey: { } token } invite when !invite.IsRevoked:
                operations.Delete<ThirdPartyInviteFact>(ThirdPartyInviteFact.IdFor(invite.RoomId, token, ThirdPartyInviteFact.Exchange));
                operations.Delete<ThirdPartyInviteFact>(ThirdPartyInviteFact.IdFor(invite.RoomId, token, ThirdPartyInviteFact.Revocation));
                operations.Store(Fact(invite, token, ThirdPartyInviteFact.Invite, e.Version) with { DisplayName = invite.ContentString("display_name") });
                break;
            case ThirdPartyInviteEvent { StateKey: { } token } revocation:
                operations.Store(Fact(revocation, token, ThirdPartyInviteFact.Revocation, e.Version));
                break;
            case MemberEvent { ThirdPartyInviteToken: { } token, StateKey: { } invitee } member:
                operations.Store(Fact(member, token, ThirdPartyInviteFact.Exchange, e.Version) with
                {
                    InviteeUserId = invitee,
                    DisplayName = member.Content["third_party_invite"]?["display_name"] is JsonValue d && d.TryGetValue<string>(out var name) ? name : null,
                });
                break;
        }
        return ValueTask.CompletedTask;
    }

    private static ThirdPartyInviteFact Fact(MatrixEvent ev, string token, string kind, long version) => new()
    {
        Id = ThirdPartyInviteFact.IdFor(ev.RoomId, token, kind), RoomId = ev.RoomId, Token = token, Kind = kind,
        Sender = ev.Sender, EventId = ev.EventId, At = ev.OriginServerTs, StreamVersion = version,
    };
}
