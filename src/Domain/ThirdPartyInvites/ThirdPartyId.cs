using System.Text;
using Matrix.Rooms.Domain.Errors;

namespace Matrix.Rooms.Domain.ThirdPartyInvites;

/// <summary>The 3PID media this engine knows (spec "Appendices" → "3PID Types").</summary>
public static class Media
{
    public const string Email = "email";
    public const string Msisdn = "msisdn";
}

/// <summary>
/// A third-party identifier: a <c>medium</c> and an <c>address</c> in its canonical form (spec "Appendices" →
/// "3PID Types": "This must be a canonical form of the identifier … only one of these strings must be used"). Build one
/// with <see cref="Parse"/>, which canonicalises and refuses what is not an address of that medium.
/// <para>
/// The address is private: <see cref="ToString"/> never prints it (records would otherwise put it in every log line
/// that mentions the value).
/// </para>
/// </summary>
public sealed record ThirdPartyId
{
    private ThirdPartyId(string medium, string address)
    {
        Medium = medium;
        Address = address;
    }

    public string Medium { get; }
    public string Address { get; }

    /// <summary>
    /// Canonicalises and validates. E-mail: trimmed, Unicode-normalised (NFKC) and case-folded — the spec asks for the
    /// domain in lower case and for "Caseless Matching" of the whole address (<c>Strauß@Example.com</c> is
    /// <c>strauss@example.com</c>); the form is <c>local@domain</c> with no display name, brackets or <c>mailto:</c>.
    /// MSISDN: E.164 digits without the leading <c>+</c> (a leading <c>+</c>, spaces and dashes are removed).
    /// An unknown medium or a malformed address is <c>400 M_INVALID_PARAM</c>.
    /// </summary>
    public static Result<ThirdPartyId> Parse(string? medium, string? address)
    {
        if (string.IsNullOrEmpty(medium)) return MatrixError.MissingParam("medium");
        if (address is null) return MatrixError.MissingParam("address");
        return medium switch
        {
            Media.Email => ParseEmail(address),
            Media.Msisdn => ParseMsisdn(address),
            _ => MatrixError.InvalidParam($"Unknown medium '{medium}': this server knows '{Media.Email}' and '{Media.Msisdn}'"),
        };
    }

    /// <summary>Case folding as the spec's "Caseless Matching" asks: lower case, with ß folded to ss.</summary>
    public static string CaseFold(string text) =>
        text.Normalize(NormalizationForm.FormKC).ToLowerInvariant().Replace("ß", "ss", StringComparison.Ordinal)
            .Replace("ς", "σ", StringComparison.Ordinal);

    private static Result<ThirdPartyId> ParseEmail(string raw)
    {
        var address = CaseFold(raw.Trim());
        var at = address.LastIndexOf('@');
        if (address.Length is 0 or > 254 || at <= 0 || at == address.Length - 1 || address.IndexOf('@') != at)
            return MatrixError.InvalidParam("The address is not an e-mail address of the form local@domain");
        foreach (var c in address)
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or '(' or ')' or ',' or ';' or ':' or '[' or ']' or '\\' or '"')
                return MatrixError.InvalidParam("The e-mail address must be the bare address (no name, brackets or mailto:)");
        var domain = address[(at + 1)..];
        if (domain.StartsWith('.') || domain.EndsWith('.') || domain.Contains("..", StringComparison.Ordinal))
            return MatrixError.InvalidParam("The e-mail address has an invalid domain");
        return new ThirdPartyId(Media.Email, address);
    }

    private static Result<ThirdPartyId> ParseMsisdn(string raw)
    {
        var builder = new StringBuilder(raw.Length);
        foreach (var c in raw.Trim().TrimStart('+'))
        {
            if (c is ' ' or '-' or '.' or '(' or ')') continue;
            if (c is < '0' or > '9') return MatrixError.InvalidParam("An msisdn is a telephone number in E.164 form: digits only");
            builder.Append(c);
        }
        // E.164: at most 15 digits, country code first (never 0).
        if (builder.Length is < 6 or > 15 || builder[0] == '0')
            return MatrixError.InvalidParam("An msisdn is an E.164 telephone number: 6 to 15 digits, country code first");
        return new ThirdPartyId(Media.Msisdn, builder.ToString());
    }

    public bool Equals(ThirdPartyId? other) =>
        other is not null && Medium == other.Medium && string.Equals(Address, other.Address, StringComparison.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Medium, Address);

    /// <summary>The medium and the obfuscated address (never the address itself).</summary>
    public override string ToString() => $"{Medium}:{AddressPrivacy.Obfuscate(this)}";
}

/// <summary>
/// The opaque strings of the identity service API: tokens, session IDs and client secrets "must be a string consisting
/// of the characters <c>[0-9a-zA-Z.=_-]</c>. Its length must not exceed 255 characters and it must not be empty."
/// </summary>
public static class OpaqueString
{
    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 255) return false;
        foreach (var c in value)
            if (!(c is >= '0' and <= '9' or >= 'a' and <= 'z' or >= 'A' and <= 'Z' or '.' or '=' or '_' or '-'))
                return false;
        return true;
    }
}
