using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Marten.Patching;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>
/// Keeps <see cref="ThirdPartyInvite"/>: an <c>m.room.third_party_invite</c> with content opens a pending invite; the
/// same event with empty content (spec: revocation) marks it revoked; an <c>m.room.member</c> invite carrying
/// <c>third_party_invite.signed.token</c> marks it exchanged and records the user and the event. Status changes are
/// patches, applied in stream order with the inserts of the same batch, so a rebuild gives the same rows as live
/// aggregation.
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
                operations.Store(new ThirdPartyInvite
                {
                    Id = ThirdPartyInvite.IdFor(invite.RoomId, token),
                    RoomId = invite.RoomId,
                    Token = token,
                    Inviter = invite.Sender,
                    DisplayName = invite.ContentString("display_name"),
                    Status = ThirdPartyInviteStatus.Pending,
                    InviteEventId = invite.EventId,
                    InvitedAt = invite.OriginServerTs,
                    LastEventId = invite.EventId,
                    ChangedAt = invite.OriginServerTs,
                    StreamVersion = e.Version,
                });
                break;
            case ThirdPartyInviteEvent { StateKey: { } token } revocation:
                operations.Patch<ThirdPartyInvite>(ThirdPartyInvite.IdFor(revocation.RoomId, token))
                    .Set(x => x.Status, ThirdPartyInviteStatus.Revoked)
                    .Set(x => x.LastEventId, revocation.EventId)
                    .Set(x => x.ChangedAt, revocation.OriginServerTs)
                    .Set(x => x.StreamVersion, e.Version);
                break;
            case MemberEvent { Membership: Memberships.Invite, StateKey: { } invitee } member
                when member.Content["third_party_invite"] is JsonObject { } tpi
                     && tpi["signed"] is JsonObject signed
                     && signed["token"] is JsonValue t && t.TryGetValue<string>(out var exchangedToken):
                operations.Patch<ThirdPartyInvite>(ThirdPartyInvite.IdFor(member.RoomId, exchangedToken))
                    .Set(x => x.Status, ThirdPartyInviteStatus.Exchanged)
                    .Set(x => x.InviteeUserId, invitee)
                    .Set(x => x.MemberEventId, member.EventId)
                    .Set(x => x.LastEventId, member.EventId)
                    .Set(x => x.ChangedAt, member.OriginServerTs)
                    .Set(x => x.StreamVersion, e.Version);
                break;
        }
        return ValueTask.CompletedTask;
    }
}
