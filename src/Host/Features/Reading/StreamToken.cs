using Matrix.Rooms.Domain.Errors;

namespace Matrix.Rooms.Host.Features.Reading;

/// <summary>
/// Pagination tokens: <c>s{n}</c> names the boundary just after stream position n of the room (so <c>s0</c> is before
/// the first event). Stream positions never change, so tokens stay valid across restarts and rebuilds.
/// </summary>
public static class StreamToken
{
    public static string Format(long position) => $"s{Math.Max(0, position)}";

    public static long? Parse(string? token, string name)
    {
        if (string.IsNullOrEmpty(token)) return null;
        if (token.Length > 1 && token[0] == 's' && long.TryParse(token.AsSpan(1), System.Globalization.NumberStyles.None, null, out var p))
            return p;
        throw new MatrixException(MatrixError.InvalidParam($"'{name}' is not a valid pagination token: {token}"));
    }
}
