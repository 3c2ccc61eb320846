using Marten;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Projections.Documents;
using NodaTime;

namespace Matrix.Rooms.Host.Features.Guests;

/// <summary>
/// Spec "Guest Access": when an authorised <c>m.room.guest_access</c> change stops guests from joining, every joined or
/// invited local guest's membership becomes <c>leave</c>. The leaves are appended in the same transaction as the
/// change (so no crash can leave a guest behind) and each passes the authorization rules like any other event.
/// </summary>
/// <summary>The leaves a guest-access change causes, and the state before the change with the guests' member events (their
/// auth events).</summary>
public sealed record GuestLeaves(IReadOnlyList<MatrixEvent> Leaves, DictionaryAuthState StateBefore);

public static class GuestAccessWithdrawalStep
{
    public static async Task<Result<GuestLeaves>> EventsAfterAsync(IQuerySession session, GuestAccessEvent change,
        DictionaryAuthState stateBefore, RoomVersion version, Instant now, CancellationToken ct)
    {
        var before = (stateBefore.Get(new StateKey(EventTypes.GuestAccess, "")) as GuestAccessEvent)?.GuestAccess;
        var guestChange = GuestAccessChange.Of(change, before);
        if (!guestChange.WithdrawsGuestAccess) return new GuestLeaves([], stateBefore);

        // Only the room's guests are read: a query on the room_members index, not the whole membership.
        var candidates = await session.Query<RoomMember>()
            .Where(m => m.RoomId == change.RoomId && m.IsGuest && (m.Membership == Memberships.Join || m.Membership == Memberships.Invite))
            .ToListAsync(ct);
        if (candidates.Count == 0) return new GuestLeaves([], stateBefore);

        // A guest who has since upgraded to a full account is no longer a guest.
        var accounts = await session.LoadManyAsync<Account>(ct, candidates.Select(c => c.UserId).ToArray());
        var stillGuests = accounts.Where(a => a.IsGuest).Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        var leaves = GuestAccessWithdrawal.Decide(guestChange,
            candidates.Where(c => stillGuests.Contains(c.UserId)).Select(c => new GuestMember(c.UserId, c.Membership)), now);

        var memberRows = await session.LoadManyAsync<RoomStateEntry>(ct,
            leaves.Select(l => RoomStateEntry.IdFor(change.RoomId, EventTypes.Member, l.StateKey!)).ToArray());
        var withMembers = memberRows.Aggregate(stateBefore, (s, row) => s.Apply(row.Event));
        var state = withMembers.Apply(change);

        var previous = change.EventId;
        var appended = new List<MatrixEvent>();
        foreach (var leave in leaves)
        {
            var chained = leave.After(previous, version);
            var decision = EventAuth.Check(chained, state, version);
            if (!decision.Allowed) return MatrixError.Forbidden($"Removing guest {leave.StateKey}: {decision.Explanation}");
            appended.Add(chained);
            state = state.Apply(chained);
            previous = chained.EventId;
        }
        return new GuestLeaves(appended, withMembers);
    }
}
