namespace Matrix.Rooms.Domain.Crypto;

/// <summary>
/// Spec "Appendices" → "Unpadded Base64" and "URL-safe unpadded Base64". Encoding gives the standard alphabet without
/// <c>=</c> padding (or the URL-safe alphabet on request). Decoding accepts either alphabet, with or without padding,
/// as the spec asks ("implementations SHOULD accept input with or without padding characters"); anything else —
/// whitespace, stray characters, an impossible length — is refused.
/// </summary>
public static class UnpaddedBase64
{
    public static string Encode(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    public static string EncodeUrlSafe(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    /// <summary>Decodes standard or URL-safe Base64, padded or not. Throws <see cref="FormatException"/> when it is not Base64.</summary>
    public static byte[] Decode(string text) =>
        TryDecode(text, out var bytes) ? bytes : throw new FormatException("Not valid (unpadded) Base64");

    public static bool TryDecode(string? text, out byte[] bytes)
    {
        bytes = [];
        if (text is null) return false;
        var length = text.Length;
        var padding = 0;
        while (length > 0 && text[length - 1] == '=' && padding < 2)
        {
            length--;
            padding++;
        }
        // With padding the whole must be a multiple of 4; without, a remainder of 1 is never valid.
        if (padding > 0 && text.Length % 4 != 0) return false;
        if (length % 4 == 1) return false;

        var chars = new char[length + (4 - length % 4) % 4];
        for (var i = 0; i < length; i++)
        {
            var c = text[i];
            chars[i] = c switch
            {
                >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '+' or '/' => c,
                '-' => '+',
                '_' => '/',
                _ => '\0',
            };
            if (chars[i] == '\0') return false;
        }
        for (var i = length; i < chars.Length; i++) chars[i] = '=';

        var buffer = new byte[chars.Length / 4 * 3];
        if (!Convert.TryFromBase64Chars(chars, buffer, out var written)) return false;
        bytes = written == buffer.Length ? buffer : buffer[..written];
        return true;
    }
}
