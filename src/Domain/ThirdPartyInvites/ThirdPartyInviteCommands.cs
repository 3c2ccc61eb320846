using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Rooms;

namespace Matrix.Rooms.Domain.ThirdPartyInvites;

/// <summary>
/// <c>POST /rooms/{roomId}/invite</c> with a third-party identifier (spec client-server API → "Third-party invites";
/// the seed's <c>/_matrix/client/api/v1</c> form adds <see cref="DisplayName"/>). The Host looks the address up on
/// <see cref="IdServer"/>: a bound address becomes an ordinary <see cref="InviteUser"/>; an unbound one is stored on the
/// identity server and becomes an <see cref="AppendThirdPartyInvite"/>.
/// </summary>
public sealed record InviteByThirdPartyId : RoomCommand
{
    /// <summary>The identity server, as <c>hostname[:port]</c>; it must be on the Host's trusted list.</summary>
    public required string IdServer { get; init; }

    /// <summary>The caller's token for that identity server (required by the v3 form, absent in the seed's v1 form).</summary>
    public string? IdAccessToken { get; init; }

    public required string Medium { get; init; }
    public required string Address { get; init; }

    /// <summary>The seed's client-supplied display name; refused when it contains the address.</summary>
    public string? DisplayName { get; init; }

    /// <summary>Keeps the address and the token out of logs.</summary>
    protected override bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"RoomId = {RoomId}, Sender = {Sender}, IdServer = {IdServer}, Medium = {Medium}");
        return true;
    }
}

/// <summary>A public key the identity server gave for a stored invite, with the URL that says whether it is still valid.</summary>
public sealed record InvitePublicKey(string PublicKey, string? KeyValidityUrl);

/// <summary>
/// Appends the <c>m.room.third_party_invite</c> for an invite the identity server has stored: state key
/// <see cref="Token"/>, content <c>display_name</c>, <c>key_validity_url</c>, <c>public_key</c>, <c>public_keys</c>.
/// Sent by the Host after <c>store-invite</c> succeeded; <see cref="Invitee"/> is only used to check that
/// <see cref="DisplayName"/> does not reveal it and to keep the Host's private (medium, address) record.
/// </summary>
public sealed record AppendThirdPartyInvite : RoomCommand
{
    public required string Token { get; init; }
    public required string DisplayName { get; init; }
    public required IReadOnlyList<InvitePublicKey> PublicKeys { get; init; }
    public required ThirdPartyId Invitee { get; init; }
    public required string IdServer { get; init; }

    protected override bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"RoomId = {RoomId}, Sender = {Sender}, Token = {Token}, IdServer = {IdServer}");
        return true;
    }
}

/// <summary>
/// Exchanges a pending third-party invite for an <c>m.room.member</c> invite of <see cref="Mxid"/> once the identity
/// server has bound the address (spec server-server API → <c>/3pid/onbind</c>, <c>/exchange_third_party_invite</c>).
/// <see cref="RoomCommand.Sender"/> is the sender of the <c>m.room.third_party_invite</c> — the authorization rules
/// require the exchanged invite to come from them, whether or not they are still in the room.
/// </summary>
public sealed record ExchangeThirdPartyInvite : RoomCommand
{
    public required string Mxid { get; init; }

    /// <summary>The identity server's <c>signed</c> block: <c>mxid</c>, <c>token</c>, <c>signatures</c>.</summary>
    public required JsonObject Signed { get; init; }
}

/// <summary>
/// Revokes a pending third-party invite: sends its <c>m.room.third_party_invite</c> again with empty content (spec
/// <c>m.room.third_party_invite</c>: the public keys are gone, so no signature can match any more).
/// </summary>
public sealed record RevokeThirdPartyInvite : RoomCommand
{
    public required string Token { get; init; }
}

/// <summary>Where a third-party invite stands, as the <c>third_party_invites</c> projection records it.</summary>
public static class ThirdPartyInviteStatus
{
    public const string Pending = "pending";
    public const string Exchanged = "exchanged";
    public const string Revoked = "revoked";
}
