namespace Matrix.Rooms.Domain.Identifiers;

/// <summary>
/// Room and event identifiers (spec "Appendices" → "Room IDs", "Event IDs"). Room IDs are <c>!opaque:server</c>.
/// Event IDs are <c>$opaque:server</c> in room versions 1–2 and <c>$</c> + unpadded base64 of the reference hash
/// from version 3; this engine mints its own event IDs in the v4+ URL-safe form for every room version.
/// </summary>
public static class RoomId
{
    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value[0] != '!' || value.Length > 255) return false;
        var colon = value.IndexOf(':');
        return colon > 1 && ValidOpaque(value.AsSpan(1, colon - 1))
            && ServerName.IsValid(value[(colon + 1)..]);
    }

    // The spec leaves a room ID's opaque part free-form; this engine refuses whitespace, control and format characters
    // (e.g. U+202E RIGHT-TO-LEFT OVERRIDE) in it, which no server mints and which only serve to disguise an ID.
    private static bool ValidOpaque(ReadOnlySpan<char> opaque)
    {
        foreach (var c in opaque)
        {
            var category = char.GetUnicodeCategory(c);
            if (char.IsControl(c) || char.IsWhiteSpace(c) || category is System.Globalization.UnicodeCategory.Format
                    or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator)
                return false;
        }
        return true;
    }

    public static string? ServerOf(string? value) =>
        IsValid(value) ? value![(value!.IndexOf(':') + 1)..] : null;

    /// <summary>A new room ID with 18 random URL-safe characters, as homeservers commonly mint them.</summary>
    public static string New(string serverName) => $"!{Random(18)}:{serverName}";

    internal static string Random(int length) =>
        System.Security.Cryptography.RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", length);
}

public static class EventId
{
    public static bool IsValid(string? value) =>
        !string.IsNullOrEmpty(value) && value[0] == '$' && value.Length is > 1 and <= 255;

    /// <summary>A new event ID: <c>$</c> + 43 URL-safe base64 characters (the v4+ shape: 32 random bytes).</summary>
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[32];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        return "$" + System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }
}
