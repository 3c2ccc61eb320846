using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;
using Matrix.Rooms.Domain.Rooms;
using NodaTime;

namespace Matrix.Rooms.Domain.ThirdPartyInvites;

/// <summary>
/// The pure decisions of the third-party invite flow (spec client-server API → "Third-party invites", server-server
/// API → "Third-party invites"). Each command is drafted into the one event it would send and decided against the few
/// state entries the authorization rules name; the rules (<see cref="EventAuth"/>, <see cref="ThirdPartyInviteRules"/>)
/// make every permission decision and verify the identity server's signature. What is added here are the homeserver's
/// own checks the rules do not make: the address never reaches an event, each invite is exchanged at most once, and
/// a revoked invite is not revoked twice.
/// </summary>
public static class ThirdPartyInviteDecider
{
    /// <summary>The state key of the draft used to check the inviter before the identity server is asked for a token.</summary>
    public const string PrecheckToken = "net.matrix_rooms.precheck";

    /// <summary>Room state the identity server's invitation e-mail may mention (spec <c>store-invite</c>'s optional fields).</summary>
    public static IReadOnlyList<StateKey> RoomInfoKeys { get; } =
    [
        new(EventTypes.Create, ""), new(EventTypes.Name, ""), new("m.room.canonical_alias", ""), new("m.room.avatar", ""),
        new(EventTypes.JoinRules, ""),
    ];

    // ── Invite by third-party identifier ────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// The request's own checks, before anything else happens: <c>id_server</c> is a server name, the address is an
    /// address of a known medium (<c>400 M_INVALID_PARAM</c> otherwise), and a client-supplied <c>display_name</c> does
    /// not contain it.
    /// </summary>
    public static Result<ThirdPartyId> Validate(InviteByThirdPartyId command)
    {
        if (string.IsNullOrEmpty(command.IdServer)) return MatrixError.MissingParam("id_server");
        if (!ServerName.IsValid(command.IdServer))
            return MatrixError.InvalidParam($"id_server must be a server name (hostname[:port]), not '{command.IdServer}'");
        var invitee = ThirdPartyId.Parse(command.Medium, command.Address);
        if (!invitee.IsSuccess) return invitee;
        return AddressPrivacy.CheckDisplayName(command.DisplayName, invitee.Value) is { } refused ? refused : invitee;
    }

    /// <summary>
    /// An <c>m.room.third_party_invite</c> from the inviter with a placeholder token: the authorization rules decide
    /// on it before the identity server is called, so an inviter who may not invite causes no lookup and no stored
    /// invite. ("Allow if and only if sender's current power level is greater than or equal to the invite level", and
    /// the sender must be joined.)
    /// </summary>
    public static MatrixEvent DraftPrecheck(InviteByThirdPartyId command, Instant now) =>
        MatrixEvent.Create(EventTypes.ThirdPartyInvite, command.RoomId, command.Sender, PrecheckToken,
            new JsonObject { ["display_name"] = "" }, now);

    public static Result<MatrixEvent> Precheck(InviteByThirdPartyId command, MatrixEvent draft, IAuthState state) =>
        RoomDecider.Decide(command, draft, state, previousEventId: null);

    // ── Append the m.room.third_party_invite ────────────────────────────────────────────────────────────────────

    public static MatrixEvent DraftInvite(AppendThirdPartyInvite command, Instant now) =>
        MatrixEvent.Create(EventTypes.ThirdPartyInvite, command.RoomId, command.Sender, command.Token,
            InviteContent(command.DisplayName, command.PublicKeys), now);

    /// <summary>
    /// The event content (spec <c>m.room.third_party_invite</c>): <c>display_name</c>; <c>public_keys</c> with every key
    /// the identity server gave; and, "for backwards compatibility", <c>public_key</c> and <c>key_validity_url</c> of the
    /// first one (the server's long-term key).
    /// </summary>
    public static JsonObject InviteContent(string displayName, IReadOnlyList<InvitePublicKey> keys)
    {
        var content = new JsonObject { ["display_name"] = displayName };
        if (keys.Count == 0) return content;
        content["key_validity_url"] = keys[0].KeyValidityUrl ?? "";
        content["public_key"] = keys[0].PublicKey;
        var list = new JsonArray();
        foreach (var key in keys)
        {
            var entry = new JsonObject { ["public_key"] = key.PublicKey };
            if (key.KeyValidityUrl is not null) entry["key_validity_url"] = key.KeyValidityUrl;
            list.Add(entry);
        }
        content["public_keys"] = list;
        return content;
    }

    public static IReadOnlyList<StateKey> StateNeeded(AppendThirdPartyInvite command, MatrixEvent draft) =>
        [.. EventAuth.AuthEventKeys(draft), new(EventTypes.ThirdPartyInvite, command.Token)];

    public static Result<MatrixEvent> DecideInvite(AppendThirdPartyInvite command, MatrixEvent draft, IAuthState state,
        string? previousEventId)
    {
        if (!OpaqueString.IsValid(command.Token))
            return MatrixError.InvalidParam("The invite token must be 1–255 characters of [0-9a-zA-Z.=_-]");
        if (command.PublicKeys.Count == 0 || command.PublicKeys.Any(k => !IsPublicKey(k.PublicKey)))
            return MatrixError.InvalidParam("A third-party invite needs the identity server's ed25519 public keys");
        if (string.IsNullOrWhiteSpace(command.DisplayName))
            return MatrixError.InvalidParam("A third-party invite needs a display_name");
        if (AddressPrivacy.Reveals(command.DisplayName, command.Invitee))
            return MatrixError.InvalidParam("The display_name of a third-party invite must not contain the invitee's address");
        if (state.Get(new StateKey(EventTypes.ThirdPartyInvite, command.Token)) is not null)
            return MatrixError.Forbidden($"The room already has a third-party invite with the token '{command.Token}'");
        return RoomDecider.Decide(command, draft, state, previousEventId);
    }

    // ── Exchange on bind ────────────────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// The exchanged invite: <c>m.room.member</c> for <c>mxid</c> from the third-party invite's sender, with
    /// <c>third_party_invite</c> {<c>display_name</c> (the third-party invite's), <c>signed</c>} (spec
    /// <c>m.room.member</c>: "the successor to an m.room.third_party_invite event").
    /// </summary>
    public static MatrixEvent DraftExchange(ExchangeThirdPartyInvite command, string displayName, Instant now) =>
        MatrixEvent.Create(EventTypes.Member, command.RoomId, command.Sender, command.Mxid, new JsonObject
        {
            ["membership"] = Memberships.Invite,
            ["third_party_invite"] = new JsonObject
            {
                ["display_name"] = displayName,
                ["signed"] = command.Signed.DeepClone(),
            },
        }, now);

    public static IReadOnlyList<StateKey> StateNeeded(ExchangeThirdPartyInvite command) =>
        EventAuth.AuthEventKeys(DraftExchange(command, "", Instant.MinValue));

    public static string? TokenOf(ExchangeThirdPartyInvite command) =>
        command.Signed["token"] is JsonValue v && v.TryGetValue<string>(out var token) && token.Length > 0 ? token : null;

    /// <param name="status">The invite's <see cref="ThirdPartyInviteStatus"/> in the projection, or null when it has none.</param>
    public static Result<MatrixEvent> DecideExchange(ExchangeThirdPartyInvite command, IAuthState state, string? status,
        string? previousEventId, Instant now)
    {
        if (TokenOf(command) is not { } token)
            return MatrixError.InvalidParam("signed must have a token (the state key of the m.room.third_party_invite)");
        if (command.Signed["mxid"] is not JsonValue m || !m.TryGetValue<string>(out var signedMxid))
            return MatrixError.InvalidParam("signed must have the mxid the identity server bound the address to");
        if (!UserId.IsValid(command.Mxid)) return MatrixError.InvalidParam($"Not a valid user ID: {command.Mxid}");
        if (signedMxid != command.Mxid)
            return MatrixError.InvalidParam($"signed.mxid is {signedMxid}, but the invite is for {command.Mxid}");
        if (state.Get(EventAuth.CreateKey) is null) return MatrixError.NotFound($"Unknown room {command.RoomId}");

        var invite = state.Get(new StateKey(EventTypes.ThirdPartyInvite, token));
        // Homeserver rule: "Since this signed object can only be delivered once …" (server-server API → "Verifying the
        // invite"): an invite that was exchanged is never exchanged again, whoever presents the signed block.
        if (status == ThirdPartyInviteStatus.Exchanged)
            return MatrixError.Forbidden($"The third-party invite '{token}' has already been exchanged: each invite is exchanged once");
        if (status == ThirdPartyInviteStatus.Revoked || invite is ThirdPartyInviteEvent { IsRevoked: true })
            return MatrixError.Forbidden($"The third-party invite '{token}' has been revoked, so it cannot be used to invite {command.Mxid}");
        if ((state.Get(new StateKey(EventTypes.Member, command.Mxid)) as MemberEvent)?.Membership == Memberships.Join)
            return MatrixError.Forbidden($"{command.Mxid} is already in the room");

        var draft = DraftExchange(command, invite?.ContentString("display_name") ?? "", now);
        return RoomDecider.Decide(command, draft, state, previousEventId);
    }

    /// <summary>
    /// The key in the <c>m.room.third_party_invite</c> whose signature in <paramref name="signed"/> verifies, with the
    /// <c>key_validity_url</c> that goes with it (<c>public_key</c> with the top-level <c>key_validity_url</c>, and each
    /// <c>public_keys</c> entry with its own, which "if absent, the key must be considered valid indefinitely"). Null
    /// when no key verifies — the authorization rules then refuse the exchange.
    /// </summary>
    public static InvitePublicKey? SigningKey(JsonObject inviteContent, JsonObject signed)
    {
        var candidates = new List<InvitePublicKey>();
        if (StringOf(inviteContent["public_key"]) is { } top)
            candidates.Add(new InvitePublicKey(top, StringOf(inviteContent["key_validity_url"])));
        if (inviteContent["public_keys"] is JsonArray list)
            foreach (var entry in list.OfType<JsonObject>())
                if (StringOf(entry["public_key"]) is { } key)
                    candidates.Add(new InvitePublicKey(key, StringOf(entry["key_validity_url"])));
        foreach (var candidate in candidates)
            if (UnpaddedBase64.TryDecode(candidate.PublicKey, out var bytes) && bytes.Length == 32
                && Ed25519Signing.VerifyAny(signed, [bytes]))
                return candidate;
        return null;
    }

    // ── Revocation ──────────────────────────────────────────────────────────────────────────────────────────────

    /// <summary>The invite's state event again, with empty content: the authorization rules ask the same power as for sending it.</summary>
    public static MatrixEvent DraftRevocation(RevokeThirdPartyInvite command, Instant now) =>
        MatrixEvent.Create(EventTypes.ThirdPartyInvite, command.RoomId, command.Sender, command.Token, new JsonObject(), now);

    public static IReadOnlyList<StateKey> StateNeeded(RevokeThirdPartyInvite command, MatrixEvent draft) =>
        [.. EventAuth.AuthEventKeys(draft), new(EventTypes.ThirdPartyInvite, command.Token)];

    public static Result<MatrixEvent> DecideRevocation(RevokeThirdPartyInvite command, MatrixEvent draft, IAuthState state,
        string? status, string? previousEventId)
    {
        if (state.Get(EventAuth.CreateKey) is null) return MatrixError.NotFound($"Unknown room {command.RoomId}");
        if (state.Get(new StateKey(EventTypes.ThirdPartyInvite, command.Token)) is not ThirdPartyInviteEvent invite)
            return MatrixError.NotFound($"The room has no third-party invite with the token '{command.Token}'");
        if (invite.IsRevoked || status == ThirdPartyInviteStatus.Revoked)
            return MatrixError.InvalidParam($"The third-party invite '{command.Token}' is already revoked");
        if (status == ThirdPartyInviteStatus.Exchanged)
            return MatrixError.InvalidParam(
                $"The third-party invite '{command.Token}' has already been exchanged for an invite; kick the invited user to withdraw it");
        return RoomDecider.Decide(command, draft, state, previousEventId);
    }

    private static bool IsPublicKey(string? encoded) => UnpaddedBase64.TryDecode(encoded, out var bytes) && bytes.Length == 32;

    private static string? StringOf(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
