namespace Matrix.Rooms.Domain.Identifiers;

/// <summary>
/// A Matrix user ID, <c>@localpart:server_name</c> (spec "Appendices" → "User Identifiers").
/// New IDs use the strict localpart grammar <c>[a-z0-9._=/+-]</c>; IDs from elsewhere may be "historical" and use
/// any printable ASCII except <c>:</c>. The whole ID is at most 255 bytes.
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

    public static UserId Create(string localpart, string server) =>
        IsValidLocalpart(localpart, historical: false) && ServerName.IsValid(server)
            ? new UserId(localpart, server)
            : throw new ArgumentException($"Not a valid user ID: @{localpart}:{server}");

    /// <summary>Parses a user ID accepting historical localparts, as the spec requires for IDs received from others.</summary>
    public static bool TryParse(string? value, out UserId userId) => TryParse(value, historical: true, out userId);

    public static bool TryParse(string? value, bool historical, out UserId userId)
    {
        userId = default;
        if (string.IsNullOrEmpty(value) || value[0] != '@' || System.Text.Encoding.UTF8.GetByteCount(value) > MaxLength)
            return false;
        var colon = value.IndexOf(':');
        if (colon < 2) return false;
        var localpart = value[1..colon];
        var server = value[(colon + 1)..];
        if (!IsValidLocalpart(localpart, historical) || !ServerName.IsValid(server)) return false;
        userId = new UserId(localpart, server);
        return true;
    }

    public static bool IsValid(string? value) => TryParse(value, out _);

    /// <summary>The server part of a user ID, or null when the ID is not valid.</summary>
    public static string? ServerOf(string? value) => TryParse(value, out var id) ? id.Server : null;

    public static bool IsValidLocalpart(string localpart, bool historical) =>
        localpart.Length > 0 && localpart.All(c => historical
            ? c is >= '\x21' and <= '\x7E' && c != ':'
            : c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '=' or '-' or '/' or '+');
}
