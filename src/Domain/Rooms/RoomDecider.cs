using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using NodaTime;

namespace Matrix.Rooms.Domain.Rooms;

/// <summary>
/// Turns a <see cref="RoomCommand"/> into the event it would send (<see cref="Draft"/>) and decides whether that event
/// may be appended to the room as it stands (<see cref="Decide"/>). The authorization rules decide; this class adds
/// only the client-server API's own checks that the rules do not make (e.g. "unban someone who is not banned").
/// </summary>
public static class RoomDecider
{
    public static MatrixEvent Draft(RoomCommand command, Instant now) => command switch
    {
        InviteUser c => Member(c, c.UserId, Memberships.Invite, c.Reason, now),
        JoinRoom c => Member(c, c.Sender, Memberships.Join, c.Reason, now, c.DisplayName),
        LeaveRoom c => Member(c, c.Sender, Memberships.Leave, c.Reason, now),
        KickUser c => Member(c, c.UserId, Memberships.Leave, c.Reason, now),
        BanUser c => Member(c, c.UserId, Memberships.Ban, c.Reason, now),
        UnbanUser c => Member(c, c.UserId, Memberships.Leave, c.Reason, now),
        KnockRoom c => Member(c, c.Sender, Memberships.Knock, c.Reason, now),
        SetRoomState c => MatrixEvent.Create(c.EventType, c.RoomId, c.Sender, c.StateKey, (JsonObject)c.Content.DeepClone(), now),
        SendRoomEvent c => MatrixEvent.Create(c.EventType, c.RoomId, c.Sender, null, (JsonObject)c.Content.DeepClone(), now) with { Redacts = c.Redacts },
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "Unknown room command"),
    };

    /// <summary>The state the decision reads: the authorization rules' auth events plus what the command's own checks need.</summary>
    public static IReadOnlyList<StateKey> StateNeeded(RoomCommand command, MatrixEvent draft)
    {
        var keys = EventAuth.AuthEventKeys(draft).ToList();
        // Guests' membership changes depend on guest_access; so does a guest_access change (it may withdraw access).
        if (command.SenderIsGuest || draft.Type == EventTypes.GuestAccess) keys.Add(new StateKey(EventTypes.GuestAccess, ""));
        return keys.Distinct().ToList();
    }

    /// <param name="previousEventId">The room's last event, which becomes the draft's <c>prev_events</c>.</param>
    public static Result<MatrixEvent> Decide(RoomCommand command, MatrixEvent draft, IAuthState state, string? previousEventId)
    {
        if (state.Get(new StateKey(EventTypes.Create, "")) is not CreateEvent create)
            return MatrixError.NotFound($"Unknown room {command.RoomId}");
        if (RoomVersion.Get(create.RoomVersion) is not { } version)
            return MatrixError.UnsupportedRoomVersion($"Room version {create.RoomVersion} is not supported");
        // Spec m.room.redaction: "redacts" is a top-level key before room version 11, a content key from 11.
        if (draft.Redacts is { } redacts && version.RedactsInContent)
        {
            var content = (JsonObject)draft.Content.DeepClone();
            content["redacts"] = redacts;
            draft = draft with { Redacts = null, Content = content };
        }
        draft = draft.After(previousEventId, version);
        if (EventLimits.Check(draft) is { } tooBig) return tooBig;
        // PUT /state of an m.room.member: a membership outside the spec's enum is a bad request, not a refusal.
        if (command is SetRoomState && draft.Type == EventTypes.Member && StateContentRules.CheckMember(draft.Content) is { } badMember)
            return badMember;

        // Spec "Guest Access": guests may join (only where guest_access is can_join) and leave, nothing else.
        if (command.SenderIsGuest && draft is MemberEvent member &&
            GuestPolicy.CheckMembershipChange(true, draft.Sender, draft.StateKey!, member.Membership,
                (state.Get(new StateKey(EventTypes.GuestAccess, "")) as GuestAccessEvent)?.GuestAccess) is { } guestRefusal)
            return guestRefusal;

        var precondition = command switch
        {
            UnbanUser c when MembershipOf(state, command.RoomId, c.UserId) != Memberships.Ban =>
                MatrixError.Forbidden($"{c.UserId} is not banned from the room"),
            KickUser c when MembershipOf(state, command.RoomId, c.UserId) is not (Memberships.Join or Memberships.Invite or Memberships.Knock) =>
                MatrixError.Forbidden($"{c.UserId} is not in the room"),
            LeaveRoom c when MembershipOf(state, command.RoomId, c.Sender) is null or Memberships.Leave =>
                MatrixError.Forbidden($"{c.Sender} is not in the room"),
            _ => null,
        };
        if (precondition is not null) return precondition;

        var decision = EventAuth.Check(draft, state, version);
        return decision.Allowed ? draft : MatrixError.Forbidden(decision.Explanation);
    }

    private static string? MembershipOf(IAuthState state, string roomId, string userId) =>
        (state.Get(new StateKey(EventTypes.Member, userId)) as MemberEvent)?.Membership;

    private static MatrixEvent Member(RoomCommand c, string target, string membership, string? reason, Instant now, string? displayName = null)
    {
        var content = new JsonObject { ["membership"] = membership };
        if (!string.IsNullOrEmpty(reason)) content["reason"] = reason;
        if (!string.IsNullOrEmpty(displayName)) content["displayname"] = displayName;
        var ev = MatrixEvent.Create(EventTypes.Member, c.RoomId, c.Sender, target, content, now);
        return c.SenderIsGuest && target == c.Sender
            ? ev with { Unsigned = new JsonObject { [MemberEvent.GuestMarker] = true } }
            : ev;
    }
}
