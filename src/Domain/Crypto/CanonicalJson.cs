using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Matrix.Rooms.Domain.Crypto;

/// <summary>
/// Spec "Appendices" → "Canonical JSON": "the shortest UTF-8 JSON encoding with dictionary keys lexicographically
/// sorted by Unicode codepoint. Numbers in the JSON must be integers in the range [-(2**53)+1, (2**53)-1],
/// represented without exponents or decimal places, and negative zero -0 MUST NOT appear."
/// <list type="bullet">
/// <item>Keys are sorted by code point (not by UTF-16 code unit, which orders characters above U+FFFF wrongly).</item>
/// <item>Strings are written raw as UTF-8; only <c>"</c>, <c>\</c> and the ASCII control characters are escaped,
/// with the short forms <c>\b \t \n \f \r</c> where they exist and <c>\u00XX</c> (lowercase hex) otherwise.</item>
/// <item>A number whose value is an integer is written as one (<c>1e10</c> → <c>10000000000</c>, <c>-0</c> →
/// <c>0</c>, as the spec's examples show); a fraction (however small), or an integer outside the range, cannot be encoded and
/// throws <see cref="CanonicalJsonException"/>.</item>
/// </list>
/// </summary>
public static class CanonicalJson
{
    public const long MaxSafeInteger = (1L << 53) - 1;
    public const long MinSafeInteger = -MaxSafeInteger;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The canonical encoding of <paramref name="value"/> as UTF-8 bytes (what gets signed and hashed).</summary>
    public static byte[] Encode(JsonNode? value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The canonical encoding as a string.</summary>
    public static string EncodeToString(JsonNode? value) => StrictUtf8.GetString(Encode(value));

    /// <summary>Parses <paramref name="json"/> and returns its canonical encoding as a string.</summary>
    public static string Canonicalize(string json) => EncodeToString(JsonNode.Parse(json));

    public static bool TryEncode(JsonNode? value, out byte[] bytes, out string? error)
    {
        try
        {
            bytes = Encode(value);
            error = null;
            return true;
        }
        catch (CanonicalJsonException e)
        {
            bytes = [];
            error = e.Message;
            return false;
        }
    }

    /// <summary>Orders strings by Unicode code point, as Canonical JSON sorts keys.</summary>
    public static IComparer<string> KeyOrder { get; } = new CodePointComparer();

    private static void Write(IBufferWriter<byte> output, JsonNode? node)
    {
        switch (node)
        {
            case null:
                WriteAscii(output, "null");
                break;
            case JsonObject obj:
                WriteObject(output, obj);
                break;
            case JsonArray array:
                WriteByte(output, (byte)'[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0) WriteByte(output, (byte)',');
                    Write(output, array[i]);
                }
                WriteByte(output, (byte)']');
                break;
            case JsonValue value:
                WriteValue(output, value);
                break;
        }
    }

    private static void WriteObject(IBufferWriter<byte> output, JsonObject obj)
    {
        var keys = new string[obj.Count];
        var i = 0;
        foreach (var (key, _) in obj) keys[i++] = key;
        Array.Sort(keys, KeyOrder);

        WriteByte(output, (byte)'{');
        for (i = 0; i < keys.Length; i++)
        {
            if (i > 0) WriteByte(output, (byte)',');
            WriteString(output, keys[i]);
            WriteByte(output, (byte)':');
            Write(output, obj[keys[i]]);
        }
        WriteByte(output, (byte)'}');
    }

    private static void WriteValue(IBufferWriter<byte> output, JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(output, value.GetValue<string>());
                break;
            case JsonValueKind.True:
                WriteAscii(output, "true");
                break;
            case JsonValueKind.False:
                WriteAscii(output, "false");
                break;
            case JsonValueKind.Null:
                WriteAscii(output, "null");
                break;
            case JsonValueKind.Number:
                WriteAscii(output, IntegerText(value.ToJsonString()).ToString(CultureInfo.InvariantCulture));
                break;
            default:
                throw new CanonicalJsonException($"Cannot encode a JSON value of kind {value.GetValueKind()}");
        }
    }

    /// <summary>
    /// The integer a JSON number denotes; throws when it is not an integer in the safe range. Exponent and fraction
    /// forms are worked out exactly on their decimal digits (never through floating point, which would round
    /// <c>1e-400</c> or <c>1.00000000000000000000000000001</c> to an integer).
    /// </summary>
    private static long IntegerText(string number)
    {
        if (long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            return InRange(integer, number);

        var text = number.AsSpan();
        var negative = text.StartsWith("-");
        if (negative) text = text[1..];
        var e = text.IndexOfAny('e', 'E');
        var mantissa = e < 0 ? text : text[..e];
        long exponent = 0;
        if (e >= 0)
        {
            var exponentText = text[(e + 1)..];
            // Beyond ±10^6 the value is 0-or-fraction or far out of range; the exact exponent no longer matters.
            if (!long.TryParse(exponentText.Length > 8 ? exponentText[..1].ToString() + "9999999" : exponentText,
                    NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent))
                throw new CanonicalJsonException($"The number {number} is not a JSON number");
        }
        var dot = mantissa.IndexOf('.');
        var digits = (dot < 0 ? mantissa.ToString() : string.Concat(mantissa[..dot], mantissa[(dot + 1)..])).TrimStart('0');
        if (dot >= 0) exponent -= mantissa.Length - dot - 1;
        var significant = digits.TrimEnd('0');
        exponent += digits.Length - significant.Length;
        if (significant.Length == 0) return 0; // 0, -0, 0.0e7: zero whatever the exponent
        if (exponent < 0)
            throw new CanonicalJsonException($"The number {number} is not an integer: Canonical JSON has no floats");
        if (significant.Length + exponent > 16)
            throw new CanonicalJsonException($"The number {number} is outside the range [-(2**53)+1, (2**53)-1]");
        var value = long.Parse(significant, CultureInfo.InvariantCulture);
        for (var i = 0; i < exponent; i++) value *= 10;
        return InRange(negative ? -value : value, number);
    }

    private static long InRange(long integer, string number) =>
        integer is >= MinSafeInteger and <= MaxSafeInteger
            ? integer
            : throw new CanonicalJsonException($"The number {number} is outside the range [-(2**53)+1, (2**53)-1]");

    private static void WriteString(IBufferWriter<byte> output, string text)
    {
        WriteByte(output, (byte)'"');
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c >= 0x20 && c != '"' && c != '\\') continue;
            WriteUtf8(output, text.AsSpan(start, i - start));
            WriteAscii(output, c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\b' => "\\b",
                '\t' => "\\t",
                '\n' => "\\n",
                '\f' => "\\f",
                '\r' => "\\r",
                _ => $"\\u{(int)c:x4}",
            });
            start = i + 1;
        }
        WriteUtf8(output, text.AsSpan(start));
        WriteByte(output, (byte)'"');
    }

    private static void WriteUtf8(IBufferWriter<byte> output, ReadOnlySpan<char> chars)
    {
        if (chars.IsEmpty) return;
        try
        {
            var span = output.GetSpan(StrictUtf8.GetMaxByteCount(chars.Length));
            output.Advance(StrictUtf8.GetBytes(chars, span));
        }
        catch (EncoderFallbackException e)
        {
            throw new CanonicalJsonException($"A string holds a lone surrogate and is not valid Unicode: {e.Message}");
        }
    }

    private static void WriteAscii(IBufferWriter<byte> output, string ascii)
    {
        var span = output.GetSpan(ascii.Length);
        for (var i = 0; i < ascii.Length; i++) span[i] = (byte)ascii[i];
        output.Advance(ascii.Length);
    }

    private static void WriteByte(IBufferWriter<byte> output, byte b)
    {
        output.GetSpan(1)[0] = b;
        output.Advance(1);
    }

    /// <summary>
    /// UTF-16 code-unit order equals code-point order except that surrogates (U+D800–U+DFFF, which encode U+10000 and
    /// up) sort below U+E000–U+FFFF. Shifting the two ranges past each other fixes that.
    /// </summary>
    private sealed class CodePointComparer : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y)) return 0;
            if (x is null) return -1;
            if (y is null) return 1;
            var length = Math.Min(x.Length, y.Length);
            for (var i = 0; i < length; i++)
            {
                if (x[i] == y[i]) continue;
                return Fix(x[i]).CompareTo(Fix(y[i]));
            }
            return x.Length.CompareTo(y.Length);
        }

        private static int Fix(char c) => c >= 0xE000 ? c - 0x800 : c >= 0xD800 ? c + 0x2000 : c;
    }
}

/// <summary>A JSON value that Canonical JSON cannot represent (a float, an out-of-range integer, invalid Unicode).</summary>
public sealed class CanonicalJsonException(string message) : Exception(message);
