using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Marten;
using NodaTime;

namespace Matrix.Rooms.Host.Features.Accounts;

/// <summary>Issues and resolves access tokens (<c>Authorization: Bearer</c> or the <c>access_token</c> query parameter).</summary>
public static class AccessTokens
{
    public static string NewToken() => "mrt_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static string NewDeviceId() => RandomNumberGenerator.GetHexString(10);

    public static string HashOf(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Creates a token for the user in <paramref name="session"/> (saved with the session) and returns it.</summary>
    public static string Issue(IDocumentSession session, string userId, string deviceId, bool isGuest, Instant now)
    {
        var token = NewToken();
        session.Store(new AccessTokenRecord { Id = HashOf(token), UserId = userId, DeviceId = deviceId, IsGuest = isGuest, CreatedAt = now });
        return token;
    }

    public static string? TokenFrom(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
        return request.Query.TryGetValue("access_token", out var q) && !string.IsNullOrEmpty(q) ? q.ToString() : null;
    }
}
