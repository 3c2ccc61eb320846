using System.Text;
using Matrix.Rooms.Domain.Errors;

namespace Matrix.Rooms.Domain.ThirdPartyInvites;

/// <summary>
/// The module's privacy rule (client-server API → "Third-party invites" → "Security considerations"): "the third-party
/// identifier is not put in any event, rather an opaque display name provided by the identity server is put into the
/// events". The <c>m.room.third_party_invite</c> schema adds: <c>display_name</c> "should not contain the user's
/// third-party ID, as otherwise when the invite is accepted it would leak the association between the matrix ID and the
/// third-party ID".
/// </summary>
public static class AddressPrivacy
{
    /// <summary>
    /// The redacted form an identity server puts in <c>display_name</c> (spec <c>store-invite</c>: "a redacted version
    /// of address which does not leak the full contents of the address"): e-mail keeps the first one or two characters of
    /// the local part and of the domain (<c>cheeky@monkey.com</c> → <c>ch...@mo...</c>); a telephone number keeps its
    /// first three digits.
    /// </summary>
    public static string Obfuscate(ThirdPartyId id)
    {
        if (id.Medium == Media.Email)
        {
            var at = id.Address.LastIndexOf('@');
            return $"{Keep(id.Address[..at])}...@{Keep(id.Address[(at + 1)..])}...";
        }
        return id.Address[..Math.Min(3, id.Address.Length)] + "...";

        static string Keep(string part) => part[..Math.Min(2, Math.Max(1, part.Length / 3))];
    }

    /// <summary>
    /// True when <paramref name="text"/> contains the address, compared the way addresses are matched (case-folded,
    /// Unicode-normalised, ignoring white space; for telephone numbers only the digits count).
    /// </summary>
    public static bool Reveals(string? text, ThirdPartyId id)
    {
        if (string.IsNullOrEmpty(text)) return false;
        if (id.Medium == Media.Msisdn)
        {
            var digits = new StringBuilder(text.Length);
            foreach (var c in text.Normalize(NormalizationForm.FormKC))
                if (c is >= '0' and <= '9') digits.Append(c);
            return digits.ToString().Contains(id.Address, StringComparison.Ordinal);
        }
        var folded = new StringBuilder(text.Length);
        foreach (var c in ThirdPartyId.CaseFold(text))
            if (!char.IsWhiteSpace(c)) folded.Append(c);
        return folded.ToString().Contains(id.Address, StringComparison.Ordinal);
    }

    /// <summary>
    /// The seed's rule for a client-supplied <c>display_name</c> ("It should not contain the address of the invitee, to
    /// avoid leaking mappings between third party identities and matrix user IDs"): one that does is
    /// <c>400 M_INVALID_PARAM</c>.
    /// </summary>
    public static MatrixError? CheckDisplayName(string? displayName, ThirdPartyId invitee) =>
        Reveals(displayName, invitee)
            ? MatrixError.InvalidParam(
                "display_name must not contain the invitee's address: it is shown to the room and would link the " +
                "address to the Matrix ID that accepts the invite")
            : null;
}
