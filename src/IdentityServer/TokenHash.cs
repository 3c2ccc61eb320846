using System.Security.Cryptography;
using System.Text;

namespace Matrix.Rooms.IdentityServer;

/// <summary>Tokens are stored by their SHA-256 (lower-case hex), never as issued.</summary>
internal static class TokenHash
{
    public static string Of(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
