namespace Matrix.Rooms.Domain.Identifiers;

/// <summary>
/// Spec "Appendices" → "Server Name": <c>server_name = hostname [ ":" port ]</c>, where hostname is an IPv4 literal,
/// a bracketed IPv6 literal or a DNS name of 1–255 characters from <c>[A-Za-z0-9.-]</c>, and port is 1–5 digits.
/// </summary>
public static class ServerName
{
    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value)) return false;
        var host = value;
        var colon = value.LastIndexOf(':');
        if (value.StartsWith('['))
        {
            var close = value.IndexOf(']');
            if (close < 0) return false;
            var rest = value[(close + 1)..];
            if (rest.Length > 0 && !IsPort(rest)) return false;
            var ipv6 = value[1..close];
            return ipv6.Length is > 1 and <= 45 && ipv6.All(c => Uri.IsHexDigit(c) || c is ':' or '.');
        }
        if (colon >= 0)
        {
            if (!IsPort(value[colon..])) return false;
            host = value[..colon];
        }
        return host.Length is > 0 and <= 255 && host.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');
    }

    private static bool IsPort(string colonAndDigits) =>
        colonAndDigits.Length is >= 2 and <= 6 && colonAndDigits[0] == ':' && colonAndDigits[1..].All(char.IsAsciiDigit);
}
