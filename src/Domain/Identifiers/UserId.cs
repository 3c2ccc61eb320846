namespace Matrix.Rooms.Domain.Identifiers;

/// <summary>
/// A Matrix user ID, <c>@localpart:server_name</c> (spec "Appendices" → "User Identifiers"), at most 255 bytes. The
/// spec has three grammars for the localpart, and so does this type:
/// <list type="bullet">
/// <item><b>strict</b> (<see cref="IsStrictLocalpart"/>, <see cref="TryParseStrict"/>): <c>1*[a-z0-9._=/+-]</c>, what a
/// server allocates — registration uses it;</item>
/// <item><b>compliant</b> (<see cref="IsValid"/>, <see cref="TryParse(string?, out UserId)"/>): a non-empty localpart of
/// U+0021–U+007E except <c>:</c>. IDs outside it "are considered non-compliant" and servers "SHOULD NOT forward such
/// user IDs to clients when referenced outside the context of an event": the check for IDs a client names;</item>
/// <item><b>historical</b> (<see cref="IsValidHistorical"/>, <see cref="TryParseHistorical"/>): "any legal
/// non-surrogate Unicode code points except for : and NUL (U+0000), including other control characters and the empty
/// string", which "clients and servers MUST accept" — the check the authorization rules and events use.</item>
/// </list>
/// </summary>
public readonly record struct UserId
{
    public const int MaxLength = 255;

    private UserId(string localpart, string server)
    {
        Localpart = localpart;
        Server = server;
    }

    public string Localpart { get; }
    public string Server { get; }
    public string Value => $"@{Localpart}:{Server}";
    public override string ToString() => Value;

    /// <summary>A user ID this server allocates: the localpart must pass the strict grammar.</summary>
    public static UserId Create(string localpart, string server) =>
        IsStrictLocalpart(localpart) && ServerName.IsValid(server) && Fits($"@{localpart}:{server}")
            ? new UserId(localpart, server)
            : throw new ArgumentException($"Not a valid user ID: @{localpart}:{server}");

    /// <summary>Parses a compliant user ID (localpart of printable ASCII except <c>:</c>, non-empty).</summary>
    public static bool TryParse(string? value, out UserId userId) => TryParse(value, Grammar.Compliant, out userId);

    /// <summary>As <see cref="TryParse(string?, out UserId)"/>; <paramref name="historical"/> false means the strict grammar.</summary>
    public static bool TryParse(string? value, bool historical, out UserId userId) =>
        TryParse(value, historical ? Grammar.Compliant : Grammar.Strict, out userId);

    /// <summary>Parses a user ID whose localpart has the strict grammar <c>1*[a-z0-9._=/+-]</c>.</summary>
    public static bool TryParseStrict(string? value, out UserId userId) => TryParse(value, Grammar.Strict, out userId);

    /// <summary>Parses a user ID accepting every historical localpart (empty, control characters, any non-surrogate code point but <c>:</c> and NUL).</summary>
    public static bool TryParseHistorical(string? value, out UserId userId) => TryParse(value, Grammar.Historical, out userId);

    /// <summary>A compliant user ID: what a client may name outside an event.</summary>
    public static bool IsValid(string? value) => TryParse(value, out _);

    /// <summary>A user ID the authorization rules and events accept (spec "Historical User IDs": servers MUST accept them).</summary>
    public static bool IsValidHistorical(string? value) => TryParseHistorical(value, out _);

    /// <summary>The server part of a user ID (historical localparts accepted), or null when it is not a user ID.</summary>
    public static string? ServerOf(string? value) => TryParseHistorical(value, out var id) ? id.Server : null;

    /// <summary>The grammar for localparts this server allocates (registration): <c>1*[a-z0-9._=/+-]</c>.</summary>
    public static bool IsStrictLocalpart(string localpart) =>
        localpart.Length > 0 && localpart.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '=' or '-' or '/' or '+');

    /// <summary>Compliant localparts: non-empty, U+0021–U+007E except <c>:</c>.</summary>
    public static bool IsCompliantLocalpart(string localpart) =>
        localpart.Length > 0 && localpart.All(c => c is >= '\x21' and <= '\x7E' && c != ':');

    /// <summary>Historical localparts: any non-surrogate code points except <c>:</c> and NUL, the empty string included.</summary>
    public static bool IsHistoricalLocalpart(string localpart) => Identifier.IsLenientLocalpart(localpart);

    /// <summary><paramref name="historical"/> false: the strict grammar; true: the compliant one.</summary>
    public static bool IsValidLocalpart(string localpart, bool historical) =>
        historical ? IsCompliantLocalpart(localpart) : IsStrictLocalpart(localpart);

    private enum Grammar { Strict, Compliant, Historical }

    private static bool TryParse(string? value, Grammar grammar, out UserId userId)
    {
        userId = default;
        if (string.IsNullOrEmpty(value) || value[0] != '@' || !Fits(value)) return false;
        // The localpart cannot hold ':' in any grammar, so the first ':' ends it.
        var colon = value.IndexOf(':');
        if (colon < 1) return false;
        var localpart = value[1..colon];
        var server = value[(colon + 1)..];
        var localpartValid = grammar switch
        {
            Grammar.Strict => IsStrictLocalpart(localpart),
            Grammar.Compliant => IsCompliantLocalpart(localpart),
            _ => IsHistoricalLocalpart(localpart),
        };
        if (!localpartValid || !ServerName.IsValid(server)) return false;
        userId = new UserId(localpart, server);
        return true;
    }

    private static bool Fits(string value) =>
        value.Length <= MaxLength && System.Text.Encoding.UTF8.GetByteCount(value) <= MaxLength;
}
