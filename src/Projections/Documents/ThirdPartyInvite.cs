using Matrix.Rooms.Domain.ThirdPartyInvites;
using NodaTime;

namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// A third-party invite of a room as readers see it: token, inviter, the identity server's redacted display name,
/// where it stands (<see cref="ThirdPartyInviteStatus"/>: pending / exchanged / revoked) and, once exchanged, the user
/// and the <c>m.room.member</c> event it became. Folded from the token's <see cref="ThirdPartyInviteFact"/> rows; never
/// holds the invitee's address.
/// </summary>
public sealed record ThirdPartyInvite
{
    public required string RoomId { get; init; }
    public required string Token { get; init; }
    public required string Inviter { get; init; }
    public string? DisplayName { get; init; }
    public required string Status { get; init; }
    public string? InviteEventId { get; init; }
    public Instant? InvitedAt { get; init; }
    public string? InviteeUserId { get; init; }
    public string? MemberEventId { get; init; }

    /// <summary>The event that last changed the status, and its stream version.</summary>
    public required string LastEventId { get; init; }
    public long StreamVersion { get; init; }

    /// <summary>
    /// Exchanged if an exchange happened (the invite became a membership, whatever followed); else revoked if it was
    /// revoked; else pending.
    /// </summary>
    public static string StatusOf(IEnumerable<ThirdPartyInviteFact> facts)
    {
        var kinds = facts.Select(f => f.Kind).ToHashSet();
        return kinds.Contains(ThirdPartyInviteFact.Exchange) ? ThirdPartyInviteStatus.Exchanged
            : kinds.Contains(ThirdPartyInviteFact.Revocation) ? ThirdPartyInviteStatus.Revoked
            : ThirdPartyInviteStatus.Pending;
    }

    /// <summary>One <see cref="ThirdPartyInvite"/> per (room, token) among <paramref name="facts"/>, oldest invite first.</summary>
    public static IReadOnlyList<ThirdPartyInvite> Fold(IEnumerable<ThirdPartyInviteFact> facts) =>
        facts.GroupBy(f => (f.RoomId, f.Token))
            .Select(group =>
            {
                var byKind = group.ToDictionary(f => f.Kind);
                byKind.TryGetValue(ThirdPartyInviteFact.Invite, out var invite);
                byKind.TryGetValue(ThirdPartyInviteFact.Exchange, out var exchange);
                var last = group.MaxBy(f => f.StreamVersion)!;
                return new ThirdPartyInvite
                {
                    RoomId = group.Key.RoomId, Token = group.Key.Token,
                    Inviter = invite?.Sender ?? exchange?.Sender ?? last.Sender,
                    DisplayName = invite?.DisplayName ?? exchange?.DisplayName,
                    Status = StatusOf(group),
                    InviteEventId = invite?.EventId, InvitedAt = invite?.At,
                    InviteeUserId = exchange?.InviteeUserId, MemberEventId = exchange?.EventId,
                    LastEventId = last.EventId, StreamVersion = last.StreamVersion,
                };
            })
            .OrderBy(i => i.InvitedAt ?? Instant.MaxValue).ThenBy(i => i.Token, StringComparer.Ordinal)
            .ToList();
}
