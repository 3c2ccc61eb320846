using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten.Events.Projections;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>
/// Keeps one <see cref="ThirdPartyInvite"/> per (room, token), folded by Marten as the events arrive: an
/// <c>m.room.third_party_invite</c> with content is an invite (re-sent for a token it starts the invite afresh); the
/// same event with empty content (spec: revocation) revokes it unless it was already exchanged; an
/// <c>m.room.member</c> invite carrying <c>third_party_invite.signed.token</c> is the exchange, which stands whatever
/// follows. Member events without a token belong to no invite.
/// </summary>
public sealed partial class ThirdPartyInviteProjection : MultiStreamProjection<ThirdPartyInvite, string>, IKeyedFold
{
    public ThirdPartyInviteProjection()
    {
        Name = "third_party_invites";
        Identities<ThirdPartyInviteEvent>(e => KeyOf(e) is { } id ? [id] : []);
        Identities<MemberEvent>(e => KeyOf(e) is { } id ? [id] : []);
    }

    /// <summary>The invite an event is about: (room, token) of a third-party invite or revocation, or of an exchange.</summary>
    public static string? KeyOf(MatrixEvent ev) => ev switch
    {
        ThirdPartyInviteEvent { StateKey: { } token } => ThirdPartyInvite.IdFor(ev.RoomId, token),
        MemberEvent { ThirdPartyInviteToken: { } token } => ThirdPartyInvite.IdFor(ev.RoomId, token),
        _ => null,
    };

    Type IKeyedFold.DocumentType => typeof(ThirdPartyInvite);

    string? IKeyedFold.KeyOf(IEvent e) => e.Data is MatrixEvent ev ? KeyOf(ev) : null;

    object? IKeyedFold.Fold(object? current, string key, IEvent e) => Evolve((ThirdPartyInvite?)current, key, e);

    public override ThirdPartyInvite? Evolve(ThirdPartyInvite? snapshot, string id, IEvent e) => e.Data switch
    {
        ThirdPartyInviteEvent { StateKey: { } token } invite when !invite.IsRevoked => new ThirdPartyInvite
        {
            Id = id, RoomId = invite.RoomId, Token = token, Inviter = invite.Sender, DisplayName = invite.ContentString("display_name"),
            Status = ThirdPartyInviteStatus.Pending, InviteEventId = invite.EventId, InvitedAt = invite.OriginServerTs,
            LastEventId = invite.EventId, StreamVersion = e.Version,
        },
        ThirdPartyInviteEvent { StateKey: { } token } revocation => (snapshot ?? Started(id, revocation, token)) with
        {
            Status = snapshot?.Status == ThirdPartyInviteStatus.Exchanged ? ThirdPartyInviteStatus.Exchanged : ThirdPartyInviteStatus.Revoked,
            LastEventId = revocation.EventId, StreamVersion = e.Version,
        },
        MemberEvent { ThirdPartyInviteToken: { } token, StateKey: { } invitee } member => (snapshot ?? Started(id, member, token)) with
        {
            Status = ThirdPartyInviteStatus.Exchanged, InviteeUserId = invitee, MemberEventId = member.EventId,
            DisplayName = snapshot?.DisplayName
                          ?? (member.Content["third_party_invite"]?["display_name"] is JsonValue d && d.TryGetValue<string>(out var name) ? name : null),
            LastEventId = member.EventId, StreamVersion = e.Version,
        },
        _ => snapshot,
    };

    /// <summary>An exchange or revocation whose invite this projection never saw: the sender stands in as inviter.</summary>
    private static ThirdPartyInvite Started(string id, MatrixEvent ev, string token) => new()
    {
        Id = id, RoomId = ev.RoomId, Token = token, Inviter = ev.Sender, Status = ThirdPartyInviteStatus.Pending, LastEventId = ev.EventId,
    };
}
