using System.Security.Cryptography;
using System.Text;
using Matrix.Rooms.Domain.Crypto;

namespace Matrix.Rooms.Domain.ThirdPartyInvites;

/// <summary>
/// Identity service API → "Association lookup" → "Algorithms". <c>sha256</c>: "the client converts the query first into
/// strings separated by spaces in the format <c>&lt;address&gt; &lt;medium&gt; &lt;pepper&gt;</c> … run through
/// SHA-256 … encoded using URL-Safe unpadded Base64". <c>none</c>: <c>&lt;address&gt; &lt;medium&gt;</c> in clear.
/// </summary>
public static class LookupHash
{
    public const string Sha256Algorithm = "sha256";
    public const string NoneAlgorithm = "none";

    public static string Sha256(string address, string medium, string pepper) =>
        UnpaddedBase64.EncodeUrlSafe(SHA256.HashData(Encoding.UTF8.GetBytes($"{address} {medium} {pepper}")));

    public static string Sha256(ThirdPartyId id, string pepper) => Sha256(id.Address, id.Medium, pepper);

    public static string None(ThirdPartyId id) => $"{id.Address} {id.Medium}";
}
