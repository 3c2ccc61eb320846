using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Crypto;

namespace Matrix.Rooms.Domain.Tests.Authorization;

/// <summary>Canonical JSON, unpadded Base64 and ed25519 against the spec appendix and RFC 8032 vectors.</summary>
public class CryptoTests
{
    // ── Canonical JSON (spec "Appendices" → "Canonical JSON" → "Examples") ──────────────────────────────────────

    [Theory]
    [InlineData("{}", "{}")]
    [InlineData("{\n    \"one\": 1,\n    \"two\": \"Two\"\n}", "{\"one\":1,\"two\":\"Two\"}")]
    [InlineData("{\n    \"b\": \"2\",\n    \"a\": \"1\"\n}", "{\"a\":\"1\",\"b\":\"2\"}")]
    [InlineData("{\"b\":\"2\",\"a\":\"1\"}", "{\"a\":\"1\",\"b\":\"2\"}")]
    [InlineData(
        """{"auth":{"success":true,"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"medium":"email","address":"john.doe@example.org"},{"medium":"msisdn","address":"123456789"}]}}}""",
        """{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}""")]
    [InlineData("{\n    \"a\": \"日本語\"\n}", "{\"a\":\"日本語\"}")]
    [InlineData("{\n    \"本\": 2,\n    \"日\": 1\n}", "{\"日\":1,\"本\":2}")]
    [InlineData("{\n    \"a\": \"\\u65E5\"\n}", "{\"a\":\"日\"}")]
    [InlineData("{\n    \"a\": null\n}", "{\"a\":null}")]
    [InlineData("{\n    \"a\": -0,\n    \"b\": 1e10\n}", "{\"a\":0,\"b\":10000000000}")]
    public void The_spec_examples(string input, string canonical)
    {
        CanonicalJson.Canonicalize(input).Should().Be(canonical);
        CanonicalJson.Encode(JsonNode.Parse(input)).Should().Equal(Encoding.UTF8.GetBytes(canonical));
    }

    [Theory]
    [InlineData("\"a\\u0000b\"", "\"a\\u0000b\"")]
    [InlineData("\"\\u001f\\u0008\\u0009\\u000a\\u000c\\u000d\"", "\"\\u001f\\b\\t\\n\\f\\r\"")]
    [InlineData("\"quote \\\" backslash \\\\ slash \\/\"", "\"quote \\\" backslash \\\\ slash /\"")]
    [InlineData("\"\\u007f \\u2028 \\ud83d\\ude00\"", "\"\u007f \u2028 😀\"")]
    [InlineData("[1, true, false, null, \"x\", {\"b\": [], \"a\": {}}]", "[1,true,false,null,\"x\",{\"a\":{},\"b\":[]}]")]
    [InlineData("9007199254740991", "9007199254740991")]
    [InlineData("-9007199254740991", "-9007199254740991")]
    [InlineData("1.0", "1")]
    [InlineData("12E1", "120")]
    [InlineData("0.5e1", "5")]
    [InlineData("1200e-2", "12")]
    [InlineData("0e-999", "0")]
    public void Strings_escape_only_what_the_grammar_requires_and_numbers_are_plain_integers(string input, string canonical) =>
        CanonicalJson.Canonicalize(input).Should().Be(canonical);

    [Fact]
    public void Keys_sort_by_code_point_not_by_utf16_code_unit()
    {
        // U+FFFD (one UTF-16 unit, 0xFFFD) sorts before U+1F600 (surrogates 0xD83D 0xDE00) by code point.
        var json = new JsonObject { ["\U0001F600"] = 1, ["\uFFFD"] = 2, ["z"] = 3, ["Z"] = 4, ["é"] = 5 };

        CanonicalJson.EncodeToString(json).Should().Be("{\"Z\":4,\"z\":3,\"é\":5,\"\uFFFD\":2,\"\U0001F600\":1}");
        string.CompareOrdinal("\U0001F600", "\uFFFD").Should().BeNegative("UTF-16 order differs, which is why it is not used");
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("9007199254740992")]
    [InlineData("-9007199254740992")]
    [InlineData("1e400")]
    [InlineData("1e999")]
    [InlineData("1e-400")]
    [InlineData("1.00000000000000000000000000001")]
    [InlineData("-1.0000000000000000000000000001e3")]
    [InlineData("{\"a\": 0.1}")]
    public void Floats_and_integers_outside_the_safe_range_cannot_be_encoded(string input)
    {
        var act = () => CanonicalJson.Canonicalize(input);

        act.Should().Throw<CanonicalJsonException>();
        CanonicalJson.TryEncode(JsonNode.Parse(input), out _, out var error).Should().BeFalse();
        error.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void Values_built_in_code_encode_like_parsed_ones()
    {
        var built = new JsonObject { ["n"] = 42L, ["i"] = 7, ["s"] = "x", ["b"] = true, ["d"] = 3.0 };

        CanonicalJson.EncodeToString(built).Should().Be("{\"b\":true,\"d\":3,\"i\":7,\"n\":42,\"s\":\"x\"}");
    }

    // ── Unpadded Base64 (spec "Appendices" → "Unpadded Base64") ──────────────────────────────────────────────────

    [Theory]
    [InlineData("", "")]
    [InlineData("f", "Zg")]
    [InlineData("fo", "Zm8")]
    [InlineData("foo", "Zm9v")]
    [InlineData("foob", "Zm9vYg")]
    [InlineData("fooba", "Zm9vYmE")]
    [InlineData("foobar", "Zm9vYmFy")]
    public void The_spec_examples_of_unpadded_base64(string text, string encoded)
    {
        var bytes = Encoding.ASCII.GetBytes(text);

        UnpaddedBase64.Encode(bytes).Should().Be(encoded);
        UnpaddedBase64.Decode(encoded).Should().Equal(bytes);
        UnpaddedBase64.Decode(encoded.PadRight((encoded.Length + 3) / 4 * 4, '=')).Should().Equal(bytes);
    }

    [Fact]
    public void Decoding_accepts_both_alphabets_with_or_without_padding()
    {
        var bytes = new byte[] { 0xfb, 0xff, 0xbf, 0xfe };

        UnpaddedBase64.Encode(bytes).Should().Be("+/+//g");
        UnpaddedBase64.EncodeUrlSafe(bytes).Should().Be("-_-__g");
        foreach (var text in new[] { "+/+//g", "-_-__g", "+/+//g==", "-_-__g==" })
            UnpaddedBase64.Decode(text).Should().Equal(bytes, text);
    }

    [Theory]
    [InlineData("Zm9v YmFy")]
    [InlineData("Zm9vY")]
    [InlineData("Zm9vYg=")]
    [InlineData("Zm9v!")]
    [InlineData("Zg===")]
    public void Decoding_refuses_what_is_not_base64(string text)
    {
        UnpaddedBase64.TryDecode(text, out _).Should().BeFalse();
        var act = () => UnpaddedBase64.Decode(text);
        act.Should().Throw<FormatException>();
    }

    // ── ed25519 ──────────────────────────────────────────────────────────────────────────────────────────────────

    [Fact]
    public void Rfc8032_test_vector_1()
    {
        var secret = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var publicKey = Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        var signature = Convert.FromHexString(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");

        using var key = Ed25519SigningKey.FromSeed(secret);

        key.PublicKey.Should().Equal(publicKey);
        key.Sign([]).Should().Equal(signature);
        Ed25519Signing.Verify(publicKey, [], signature).Should().BeTrue();
        Ed25519Signing.Verify(publicKey, [0x72], signature).Should().BeFalse();
    }

    [Fact]
    public void Rfc8032_test_vector_2()
    {
        using var key = Ed25519SigningKey.FromSeed(
            Convert.FromHexString("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));

        key.PublicKey.Should().Equal(Convert.FromHexString("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"));
        key.Sign([0x72]).Should().Equal(Convert.FromHexString(
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"));
    }

    private static Ed25519SigningKey SpecKey() =>
        Ed25519SigningKey.FromSeed(UnpaddedBase64.Decode("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"), "1");

    [Theory]
    [InlineData("{}", "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ")]
    [InlineData("{\"one\": 1, \"two\": \"Two\"}", "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw")]
    public void The_spec_json_signing_vectors(string json, string signature)
    {
        using var key = SpecKey();

        var signed = Ed25519Signing.SignJson((JsonObject)JsonNode.Parse(json)!, "domain", key);

        signed["signatures"]!["domain"]!["ed25519:1"]!.GetValue<string>().Should().Be(signature);
        Ed25519Signing.VerifyJson(signed, "domain", "ed25519:1", key.PublicKey).Should().BeTrue();
    }

    [Fact]
    public void Signing_leaves_out_signatures_and_unsigned_and_keeps_them()
    {
        using var key = SpecKey();
        var json = new JsonObject
        {
            ["one"] = 1,
            ["two"] = "Two",
            ["unsigned"] = new JsonObject { ["age_ts"] = 922834800000 },
            ["signatures"] = new JsonObject { ["other.example"] = new JsonObject { ["ed25519:x"] = "abc" } },
        };

        var signed = Ed25519Signing.SignJson(json, "domain", key);

        signed["signatures"]!["domain"]!["ed25519:1"]!.GetValue<string>()
            .Should().Be("KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw");
        signed["signatures"]!["other.example"]!["ed25519:x"]!.GetValue<string>().Should().Be("abc");
        signed["unsigned"]!["age_ts"]!.GetValue<long>().Should().Be(922834800000);
        json.ContainsKey("signatures").Should().BeTrue("the input is not changed");
        json["signatures"]!.AsObject().ContainsKey("domain").Should().BeFalse();

        signed["unsigned"] = new JsonObject { ["age"] = 5 };
        Ed25519Signing.VerifyJson(signed, "domain", "ed25519:1", key.PublicKey).Should().BeTrue("unsigned is not covered");
        signed["two"] = "Three";
        Ed25519Signing.VerifyJson(signed, "domain", "ed25519:1", key.PublicKey).Should().BeFalse();
    }

    [Fact]
    public void Verification_fails_for_other_keys_entities_key_ids_and_garbage()
    {
        using var key = SpecKey();
        using var other = Ed25519SigningKey.Generate();
        var signed = Ed25519Signing.SignJson(new JsonObject { ["a"] = 1 }, "domain", key);

        Ed25519Signing.VerifyJson(signed, "domain", "ed25519:1", other.PublicKey).Should().BeFalse();
        Ed25519Signing.VerifyJson(signed, "elsewhere", "ed25519:1", key.PublicKey).Should().BeFalse();
        Ed25519Signing.VerifyJson(signed, "domain", "ed25519:2", key.PublicKey).Should().BeFalse();
        Ed25519Signing.VerifyJson(signed, "domain", "ed25519:1", new byte[31]).Should().BeFalse();
        Ed25519Signing.VerifyAny(signed, [other.PublicKey, key.PublicKey]).Should().BeTrue();
        Ed25519Signing.VerifyAny(signed, [other.PublicKey]).Should().BeFalse();
        Ed25519Signing.VerifyAny(signed, []).Should().BeFalse();
        Ed25519Signing.Verify(key.PublicKey, [1, 2, 3], new byte[64]).Should().BeFalse();
    }

    [Fact]
    public void A_generated_key_round_trips_through_its_seed()
    {
        using var key = Ed25519SigningKey.Generate("auto");
        using var again = Ed25519SigningKey.FromSeed(key.ExportSeed(), "auto");

        key.KeyId.Should().Be("ed25519:auto");
        again.PublicKeyBase64.Should().Be(key.PublicKeyBase64);
        UnpaddedBase64.Decode(key.PublicKeyBase64).Should().HaveCount(32);
        Ed25519Signing.Verify(key.PublicKey, [9], again.Sign([9])).Should().BeTrue();
    }

    [Fact]
    public void A_signature_over_an_integer_does_not_verify_for_a_fraction_that_rounds_to_it()
    {
        using var key = Ed25519SigningKey.Generate();
        var signed = Ed25519Signing.SignJson(new JsonObject { ["n"] = 0 }, "example.org", key);
        var forged = JsonNode.Parse(signed.ToJsonString().Replace("\"n\":0", "\"n\":1e-400"))!.AsObject();

        Ed25519Signing.VerifyJson(signed, "example.org", key.KeyId, key.PublicKey).Should().BeTrue();
        Ed25519Signing.VerifyJson(forged, "example.org", key.KeyId, key.PublicKey).Should().BeFalse();
        Ed25519Signing.VerifyAny(forged, [key.PublicKey]).Should().BeFalse();
    }

    [Fact]
    public void VerifyAny_tries_a_bounded_number_of_signatures_and_keys()
    {
        using var key = Ed25519SigningKey.Generate();
        var signed = Ed25519Signing.SignJson(new JsonObject { ["mxid"] = "@b:x", ["token"] = "t" }, "id.example", key);
        var good = signed["signatures"]!["id.example"]![key.KeyId]!.GetValue<string>();
        var bogus = UnpaddedBase64.Encode(new byte[64]);

        // The valid signature behind MaxSignaturesTried bogus ones is never reached: the work stays bounded.
        var many = new JsonObject();
        for (var i = 0; i < Ed25519Signing.MaxSignaturesTried; i++) many[$"ed25519:bogus{i}"] = bogus;
        many[key.KeyId] = good;
        var crowded = (JsonObject)signed.DeepClone();
        crowded["signatures"] = new JsonObject { ["id.example"] = many };
        Ed25519Signing.VerifyAny(crowded, [key.PublicKey]).Should().BeFalse();
        Ed25519Signing.VerifyAny(signed, [key.PublicKey]).Should().BeTrue();

        // Likewise the right key behind MaxKeysTried others.
        var others = Enumerable.Range(0, Ed25519Signing.MaxKeysTried).Select(_ => Ed25519SigningKey.Generate().PublicKey).ToList();
        Ed25519Signing.VerifyAny(signed, [.. others, key.PublicKey]).Should().BeFalse();
        Ed25519Signing.VerifyAny(signed, [.. others.Take(Ed25519Signing.MaxKeysTried - 1), key.PublicKey]).Should().BeTrue();
    }
}
