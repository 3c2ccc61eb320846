using System.Text.Json.Nodes;
using NSec.Cryptography;

namespace Matrix.Rooms.Domain.Crypto;

/// <summary>
/// An ed25519 signing key with its Matrix key ID (<c>ed25519:</c> + key name), backed by NSec. The 32-byte seed is
/// what gets persisted (<see cref="ExportSeed"/>, <see cref="FromSeed"/>); the public key is published as unpadded
/// Base64 (<see cref="PublicKeyBase64"/>).
/// </summary>
public sealed class Ed25519SigningKey : IDisposable
{
    public const string Algorithm = "ed25519";

    private readonly Key _key;

    private Ed25519SigningKey(Key key, string keyName)
    {
        if (string.IsNullOrEmpty(keyName) || keyName.Contains(':'))
            throw new ArgumentException("A key name is a non-empty string without ':' (e.g. \"0\" or \"auto\")", nameof(keyName));
        _key = key;
        KeyName = keyName;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>The part after <c>ed25519:</c>.</summary>
    public string KeyName { get; }

    /// <summary>The key ID as it appears in <c>signatures</c>: <c>ed25519:{KeyName}</c>.</summary>
    public string KeyId => $"{Algorithm}:{KeyName}";

    /// <summary>The raw 32-byte public key.</summary>
    public byte[] PublicKey { get; }

    public string PublicKeyBase64 => UnpaddedBase64.Encode(PublicKey);

    public static Ed25519SigningKey Generate(string keyName = "0") =>
        new(Key.Create(SignatureAlgorithm.Ed25519, Exportable()), keyName);

    /// <summary>The key whose 32-byte private seed is <paramref name="seed"/> (RFC 8032's "secret key").</summary>
    public static Ed25519SigningKey FromSeed(ReadOnlySpan<byte> seed, string keyName = "0")
    {
        if (seed.Length != 32) throw new ArgumentException("An ed25519 seed is 32 bytes", nameof(seed));
        return new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, Exportable()), keyName);
    }

    public byte[] ExportSeed() => _key.Export(KeyBlobFormat.RawPrivateKey);

    /// <summary>The 64-byte ed25519 signature of <paramref name="message"/>.</summary>
    public byte[] Sign(ReadOnlySpan<byte> message) => SignatureAlgorithm.Ed25519.Sign(_key, message);

    public void Dispose() => _key.Dispose();

    private static KeyCreationParameters Exportable() => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
}

/// <summary>
/// Spec "Appendices" → "Signing JSON" and "Checking for a Signature": JSON is signed over its Canonical JSON encoding
/// without <c>signatures</c> and <c>unsigned</c>; the unpadded-Base64 signature goes to
/// <c>signatures[entity][keyId]</c>, and <c>unsigned</c> is put back.
/// </summary>
public static class Ed25519Signing
{
    /// <summary>Checks a raw ed25519 signature. False (never an exception) for a malformed key or signature.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != 32 || signature.Length != 64) return false;
        if (!PublicKey.TryImport(SignatureAlgorithm.Ed25519, publicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null)
            return false;
        return SignatureAlgorithm.Ed25519.Verify(key, message, signature);
    }

    /// <summary>The bytes that are signed for <paramref name="json"/>: its Canonical JSON without <c>signatures</c> and <c>unsigned</c>.</summary>
    public static byte[] SigningBytes(JsonObject json) => CanonicalJson.Encode(StripForSigning(json));

    /// <summary>
    /// Returns a copy of <paramref name="json"/> signed by <paramref name="entity"/> (a server name or identity server)
    /// with <paramref name="key"/>; signatures already present are kept.
    /// </summary>
    public static JsonObject SignJson(JsonObject json, string entity, Ed25519SigningKey key)
    {
        var signature = UnpaddedBase64.Encode(key.Sign(SigningBytes(json)));
        var signed = (JsonObject)json.DeepClone();
        if (signed["signatures"] is not JsonObject signatures)
        {
            signatures = new JsonObject();
            signed["signatures"] = signatures;
        }
        if (signatures[entity] is not JsonObject entitySignatures)
        {
            entitySignatures = new JsonObject();
            signatures[entity] = entitySignatures;
        }
        entitySignatures[key.KeyId] = signature;
        return signed;
    }

    /// <summary>
    /// "Checking for a Signature": true when <c>signatures[entity][keyId]</c> exists, is an ed25519 key ID, and
    /// verifies against <paramref name="publicKey"/>.
    /// </summary>
    public static bool VerifyJson(JsonObject json, string entity, string keyId, ReadOnlySpan<byte> publicKey)
    {
        if (!keyId.StartsWith(Ed25519SigningKey.Algorithm + ":", StringComparison.Ordinal)) return false;
        if (json["signatures"] is not JsonObject signatures || signatures[entity] is not JsonObject entitySignatures) return false;
        if (entitySignatures[keyId] is not JsonValue v || !v.TryGetValue<string>(out var encoded)) return false;
        if (!UnpaddedBase64.TryDecode(encoded, out var signature)) return false;
        return CanonicalJson.TryEncode(StripForSigning(json), out var bytes, out _) && Verify(publicKey, bytes, signature);
    }

    /// <summary>
    /// How many well-formed ed25519 signatures <see cref="VerifyAny"/> tries, and how many public keys: an identity
    /// server signs with one or two keys, so a handful of each is plenty, and the work an event can cause stays bounded
    /// (at most <c>MaxSignaturesTried × MaxKeysTried</c> verifications) whatever it carries.
    /// </summary>
    public const int MaxSignaturesTried = 8;

    /// <inheritdoc cref="MaxSignaturesTried"/>
    public const int MaxKeysTried = 8;

    /// <summary>
    /// True when any ed25519 signature in <c>signatures</c>, by any entity under any key ID, verifies against any of
    /// <paramref name="publicKeys"/> — the check the third-party-invite rule makes ("If any signature in signed
    /// matches any public key in the m.room.third_party_invite event, allow"). The JSON is canonicalised once, each key
    /// imported once, and only the first <see cref="MaxSignaturesTried"/> signatures and <see cref="MaxKeysTried"/>
    /// keys are tried.
    /// </summary>
    public static bool VerifyAny(JsonObject json, IReadOnlyList<byte[]> publicKeys)
    {
        if (publicKeys.Count == 0 || json["signatures"] is not JsonObject signatures) return false;
        if (!CanonicalJson.TryEncode(StripForSigning(json), out var bytes, out _)) return false;
        var keys = new List<PublicKey>(Math.Min(publicKeys.Count, MaxKeysTried));
        foreach (var raw in publicKeys.Take(MaxKeysTried))
            if (raw.Length == 32 && PublicKey.TryImport(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey, out var key) && key is not null)
                keys.Add(key);
        if (keys.Count == 0) return false;

        var tried = 0;
        foreach (var (_, entityNode) in signatures)
        {
            if (entityNode is not JsonObject entitySignatures) continue;
            foreach (var (keyId, signatureNode) in entitySignatures)
            {
                if (!keyId.StartsWith(Ed25519SigningKey.Algorithm + ":", StringComparison.Ordinal)) continue;
                if (signatureNode is not JsonValue v || !v.TryGetValue<string>(out var encoded)) continue;
                if (!UnpaddedBase64.TryDecode(encoded, out var signature) || signature.Length != 64) continue;
                if (++tried > MaxSignaturesTried) return false;
                foreach (var key in keys)
                    if (SignatureAlgorithm.Ed25519.Verify(key, bytes, signature))
                        return true;
            }
        }
        return false;
    }

    private static JsonObject StripForSigning(JsonObject json)
    {
        var copy = new JsonObject();
        foreach (var (key, value) in json)
            if (key is not ("signatures" or "unsigned"))
                copy[key] = value?.DeepClone();
        return copy;
    }
}
