namespace Matrix.Rooms.Domain.Identifiers;

/// <summary>
/// Room aliases (spec "Appendices" → "Room aliases"): <c>#room_alias:domain</c>, the localpart "any valid non-surrogate
/// Unicode codepoints except <c>:</c> and NUL", at most 255 bytes. Aliases a client creates here also have no
/// whitespace, control or format characters (as <see cref="RoomId.IsValid"/>): they only serve to disguise a name.
/// </summary>
public static class RoomAlias
{
    public const int MaxLength = 255;

    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value[0] != '#' || value.Length > MaxLength
            || System.Text.Encoding.UTF8.GetByteCount(value) > MaxLength) return false;
        var colon = value.IndexOf(':');
        if (colon <= 1 || !Identifier.IsLenientLocalpart(value.AsSpan(1, colon - 1)) || !ServerName.IsValid(value[(colon + 1)..])) return false;
        foreach (var c in value.AsSpan(1, colon - 1))
            if (char.IsControl(c) || char.IsWhiteSpace(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format
                    or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator)
                return false;
        return true;
    }

    /// <summary>The server part of a valid alias, else null.</summary>
    public static string? ServerOf(string? value) => IsValid(value) ? value![(value!.IndexOf(':') + 1)..] : null;
}
