using NodaTime;

namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// One fact about one third-party invite of a room, as its events state it: the invite (an
/// <c>m.room.third_party_invite</c> with content), its exchange (an <c>m.room.member</c> invite carrying
/// <c>third_party_invite.signed.token</c>) or its revocation (the same state event with empty content). One row per
/// (room, token, kind), each written whole from one event — the projection only stores and deletes, never reads or
/// patches, so a bulk replay gives the same rows as live aggregation. Fold a token's rows with
/// <see cref="ThirdPartyInvite.Fold"/>. Built from room events only: never the invitee's address.
/// </summary>
public sealed record ThirdPartyInviteFact
{
    public const string Invite = "invite";
    public const string Exchange = "exchange";
    public const string Revocation = "revocation";

    public required string Id { get; init; }
    public required string RoomId { get; init; }
    public required string Token { get; init; }

    /// <summary><see cref="Invite"/>, <see cref="Exchange"/> or <see cref="Revocation"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>The event's sender: the inviter (for an exchange too: the authorization rules require it), or the revoker.</summary>
    public required string Sender { get; init; }

    /// <summary>The invite's (or the exchanged invite's) <c>display_name</c>.</summary>
    public string? DisplayName { get; init; }

    /// <summary>For an exchange: the user invited.</summary>
    public string? InviteeUserId { get; init; }

    public required string EventId { get; init; }
    public Instant At { get; init; }
    public long StreamVersion { get; init; }

    public static string IdFor(string roomId, string token, string kind) => $"{roomId}|{token}|{kind}";

    /// <summary>The ids of every fact a token can have, for loading them together.</summary>
    public static string[] IdsFor(string roomId, string token) =>
        [IdFor(roomId, token, Invite), IdFor(roomId, token, Exchange), IdFor(roomId, token, Revocation)];
}
