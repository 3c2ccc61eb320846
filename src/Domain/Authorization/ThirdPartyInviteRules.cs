using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// Spec authorization rule "If membership is invite: If content has a third_party_invite property: …" (all
/// versions): the invite that exchanges an <c>m.room.third_party_invite</c> for a member invite once the identity
/// server has bound the address. The <c>signed</c> block is verified here with ed25519 over its Canonical JSON.
/// </summary>
public static class ThirdPartyInviteRules
{
    internal static AuthDecision Check(AuthContext ctx)
    {
        var ev = ctx.Event;
        var target = ev.StateKey!;

        // Since v1: If target user is banned, reject.
        if (ctx.TargetMembership == Memberships.Ban)
            return AuthDecision.Refuse(AuthRule.ThirdPartyInviteTargetBanned, $"{target} is banned from the room");

        // Since v1: If content.third_party_invite does not have a signed property, reject.
        if (ev.Content["third_party_invite"] is not JsonObject { } thirdPartyInvite
            || thirdPartyInvite["signed"] is not JsonObject signed)
            return AuthDecision.Refuse(AuthRule.ThirdPartyInviteSignedMissing,
                $"The third-party invite of {target} has no signed block from the identity server");

        // Since v1: If signed does not have mxid and token properties, reject.
        var mxid = StringOf(signed["mxid"]);
        var token = StringOf(signed["token"]);
        if (mxid is null || token is null)
            return AuthDecision.Refuse(AuthRule.ThirdPartyInviteSignedIncomplete,
                $"The signed block of the third-party invite of {target} must have both mxid and token");

        // Since v1: If mxid does not match state_key, reject.
        if (mxid != target)
            return AuthDecision.Refuse(AuthRule.ThirdPartyInviteMxidMismatch,
                $"The identity server bound the third-party invite to {mxid}, not to {target}");

        // Since v1: If there is no m.room.third_party_invite event in the current room state with state_key matching
        // token, reject.
        var invite = ctx.ThirdPartyInvite;
        if (invite is null)
            return AuthDecision.Refuse(AuthRule.ThirdPartyInviteUnknownToken,
                $"The room has no third-party invite with the token '{token}'");

        // Since v1: If sender does not match sender of the m.room.third_party_invite, reject.
        if (ev.Sender != invite.Sender)
            return AuthDecision.Refuse(AuthRule.ThirdPartyInviteSenderMismatch,
                $"The third-party invite '{token}' was sent by {invite.Sender}, so only {invite.Sender} can turn it " +
                $"into an invite of {target}, not {ev.Sender}");

        // Since v1: If any signature in signed matches any public key in the m.room.third_party_invite event, allow.
        // The public keys are in content of m.room.third_party_invite as: a single public key in the public_key
        // property; a list of public keys in the public_keys property.
        var keys = PublicKeys(invite.Content);
        if (keys.Count > 0 && Ed25519Signing.VerifyAny(signed, keys))
            return AuthDecision.Allow(AuthRule.ThirdPartyInviteAllowed,
                $"{ev.Sender} invites {target}, to whom the identity server bound the third-party invite '{token}'");

        // Since v1: Otherwise, reject.
        return invite.Content.Count == 0
            ? AuthDecision.Refuse(AuthRule.ThirdPartyInviteRevoked,
                $"The third-party invite '{token}' has been revoked, so it cannot be used to invite {target}")
            : AuthDecision.Refuse(AuthRule.ThirdPartyInviteSignatureInvalid,
                $"No signature in the signed block of the third-party invite of {target} matches a public key of " +
                $"the third-party invite '{token}'");
    }

    /// <summary>
    /// Every public key an <c>m.room.third_party_invite</c> carries: <c>public_key</c> and each
    /// <c>public_keys[].public_key</c>, decoded from (unpadded, standard or URL-safe) Base64. Keys that do not decode
    /// to 32 bytes are skipped; a revoked invite (empty content) has none. At most
    /// <see cref="Ed25519Signing.MaxKeysTried"/> keys are taken, so an invite with hundreds of keys costs no more to check.
    /// </summary>
    public static IReadOnlyList<byte[]> PublicKeys(JsonObject content)
    {
        var keys = new List<byte[]>(2);
        Add(content["public_key"]);
        if (content["public_keys"] is JsonArray list)
            foreach (var entry in list)
                if (entry is JsonObject key)
                    Add(key["public_key"]);
        return keys;

        void Add(JsonNode? node)
        {
            if (keys.Count < Ed25519Signing.MaxKeysTried && StringOf(node) is { } encoded && UnpaddedBase64.TryDecode(encoded, out var bytes) && bytes.Length == 32
                && !keys.Exists(k => k.AsSpan().SequenceEqual(bytes)))
                keys.Add(bytes);
        }
    }

    private static string? StringOf(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
