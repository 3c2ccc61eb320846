using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;
using NodaTime;

namespace Matrix.Rooms.Domain.Guests;

/// <summary>A local guest account and its current membership of the room (<c>join</c>, <c>invite</c>, …).</summary>
public readonly record struct GuestMember(string UserId, string? Membership);

/// <summary>An authorised change of a room's <c>m.room.guest_access</c>: the <c>guest_access</c> value before and after.</summary>
public readonly record struct GuestAccessChange(string RoomId, string? Before, string? After)
{
    /// <summary>The change an appended <c>m.room.guest_access</c> event makes, given the value it replaced.</summary>
    public static GuestAccessChange Of(GuestAccessEvent appended, string? before) =>
        new(appended.RoomId, before, appended.GuestAccess);

    /// <summary>Whether this change takes guest access away: from <c>can_join</c> to anything else (absent content included).</summary>
    public bool WithdrawsGuestAccess =>
        GuestAccessValues.AllowsGuestsToJoin(Before) && !GuestAccessValues.AllowsGuestsToJoin(After);
}

/// <summary>
/// Spec "Guest Access", server behaviour: "If the <c>m.room.guest_access</c> event is changed to stop this [guests may
/// join] from being the case, the server MUST set those users' <c>m.room.member</c> state to <c>leave</c>."
/// <para>
/// Decider: given the change and the room's local guests, the <c>m.room.member</c> <c>leave</c> events to append after
/// the guest-access event — one per guest whose membership is <c>join</c> or <c>invite</c>, in user-ID order. Each is
/// sent by the guest themself (state key = sender = the guest), as Synapse does: a user's own leave from
/// <c>join</c> or <c>invite</c> passes the authorization rules without any power level, and the decision stays with
/// the guest's own homeserver (guest status is not known over federation). A kick by the sender of the
/// guest-access event would instead depend on that sender's kick level, which the guest-access change did not need.
/// </para>
/// </summary>
public static class GuestAccessWithdrawal
{
    /// <summary>The <c>reason</c> the leave events carry, so clients can show why the guest left.</summary>
    public const string Reason = "Guest access to this room was turned off";

    public static IReadOnlyList<MemberEvent> Decide(GuestAccessChange change, IEnumerable<GuestMember> localGuests,
        Instant now, Func<string>? newEventId = null)
    {
        if (!change.WithdrawsGuestAccess) return [];

        var eventId = newEventId ?? Identifiers.EventId.New;
        return localGuests
            .Where(g => g.Membership is Memberships.Join or Memberships.Invite)
            .Select(g => g.UserId)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(userId => (MemberEvent)MatrixEvent.Create(
                    EventTypes.Member, change.RoomId, sender: userId, stateKey: userId,
                    new JsonObject { ["membership"] = Memberships.Leave, ["reason"] = Reason },
                    now, eventId())
                with
                {
                    // The engine's mark of a guest's member event (see MemberEvent.IsGuest).
                    Unsigned = new JsonObject { [MemberEvent.GuestMarker] = true },
                })
            .ToList();
    }
}
