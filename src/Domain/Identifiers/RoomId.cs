namespace Matrix.Rooms.Domain.Identifiers;

/// <summary>
/// Room and event identifiers (spec "Appendices" → "Room IDs", "Event IDs"). Room IDs are <c>!opaque:server</c> up to
/// room version 11 and, from v12, the create event's ID with the sigil <c>!</c> (<c>!</c> + 43 URL-safe Base64
/// characters, no domain). Event IDs are <c>$opaque:server</c> in room versions 1–2 and <c>$</c> + unpadded base64 of
/// the reference hash from version 3.
/// </summary>
public static class RoomId
{
    public const int MaxLength = 255;

    /// <summary>
    /// The spec's grammar, as the rules and events must accept it: <c>!localpart:server</c> whose localpart holds any
    /// non-surrogate code points except <c>:</c> and NUL (control characters included), at most 255 bytes; or the
    /// domain-less v12 form (<see cref="IsCreateEventForm"/>).
    /// </summary>
    public static bool IsValidLenient(string? value) => IsValidWithDomain(value) || IsCreateEventForm(value);

    /// <summary><c>!localpart:server</c> with the lenient localpart of <see cref="IsValidLenient"/>.</summary>
    public static bool IsValidWithDomain(string? value)
    {
        if (string.IsNullOrEmpty(value) || value[0] != '!' || !FitsLength(value)) return false;
        var colon = value.IndexOf(':');
        return colon > 1 && Identifier.IsLenientLocalpart(value.AsSpan(1, colon - 1))
            && ServerName.IsValid(value[(colon + 1)..]);
    }

    /// <summary>
    /// v12: <c>!</c> + the URL-safe unpadded Base64 of a SHA-256 reference hash (43 characters) — "the event ID of the
    /// m.room.create event using ! as the sigil instead of $".
    /// </summary>
    public static bool IsCreateEventForm(string? value) =>
        value is { Length: 44 } && value[0] == '!'
        && value.AsSpan(1).IndexOfAnyExcept("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") < 0;

    /// <summary>
    /// The check for room IDs a client names (the HTTP edge, createRoom): besides <see cref="IsValidLenient"/>, no
    /// whitespace, control or format characters (e.g. U+202E RIGHT-TO-LEFT OVERRIDE) in the localpart — no server
    /// mints them (the spec: "SHOULD only consist of alphanumeric characters … when generating them") and they only
    /// serve to disguise an ID. The v12 form is accepted.
    /// </summary>
    public static bool IsValid(string? value)
    {
        if (IsCreateEventForm(value)) return true;
        if (!IsValidWithDomain(value)) return false;
        foreach (var c in value.AsSpan(1, value!.IndexOf(':') - 1))
        {
            var category = char.GetUnicodeCategory(c);
            if (char.IsControl(c) || char.IsWhiteSpace(c) || category is System.Globalization.UnicodeCategory.Format
                    or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator)
                return false;
        }
        return true;
    }

    /// <summary>The server part of a <c>!localpart:server</c> room ID; null for a v12 room ID (which has none) or an invalid one.</summary>
    public static string? ServerOf(string? value) =>
        IsValidWithDomain(value) ? value![(value!.IndexOf(':') + 1)..] : null;

    /// <summary>v12: the room ID a create event with this event ID makes (<c>$x</c> → <c>!x</c>).</summary>
    public static string FromCreateEventId(string createEventId) =>
        createEventId.StartsWith('$') ? "!" + createEventId[1..] : throw new ArgumentException($"Not an event ID: {createEventId}");

    /// <summary>A new room ID with 18 random URL-safe characters, as homeservers commonly mint them.</summary>
    public static string New(string serverName) => $"!{Random(18)}:{serverName}";

    internal static string Random(int length) =>
        System.Security.Cryptography.RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", length);

    private static bool FitsLength(string value) =>
        value.Length <= MaxLength && System.Text.Encoding.UTF8.GetByteCount(value) <= MaxLength;
}

/// <summary>The localpart grammars the identifiers share.</summary>
internal static class Identifier
{
    /// <summary>
    /// Spec "Historical User IDs" / "Room IDs": "any legal non-surrogate Unicode code points except for : and NUL
    /// (U+0000), including other control characters" — in UTF-16, no ':' and no NUL, and every surrogate paired.
    /// </summary>
    public static bool IsLenientLocalpart(ReadOnlySpan<char> localpart)
    {
        for (var i = 0; i < localpart.Length; i++)
        {
            var c = localpart[i];
            if (c is ':' or '\0') return false;
            if (char.IsHighSurrogate(c) && i + 1 < localpart.Length && char.IsLowSurrogate(localpart[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c)) return false;
        }
        return true;
    }
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
