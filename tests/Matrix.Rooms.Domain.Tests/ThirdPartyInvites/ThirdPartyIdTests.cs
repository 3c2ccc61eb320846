using Matrix.Rooms.Domain.ThirdPartyInvites;

namespace Matrix.Rooms.Domain.Tests.ThirdPartyInvites;

/// <summary>3PID canonical forms, lookup hashing (the spec's own vectors), and the privacy helpers.</summary>
public sealed class ThirdPartyIdTests
{
    [Theory]
    [InlineData("alice@example.com email matrixrocks", "4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc")]
    [InlineData("bob@example.com email matrixrocks", "LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8")]
    [InlineData("18005552067 msisdn matrixrocks", "nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I")]
    public void Sha256_lookup_hashes_match_the_spec_examples(string query, string expected)
    {
        var parts = query.Split(' ');
        LookupHash.Sha256(parts[0], parts[1], parts[2]).Should().Be(expected);
    }

    [Theory]
    [InlineData("Bob@Example.COM", "bob@example.com")]
    [InlineData("  someone@example.org ", "someone@example.org")]
    [InlineData("Strauß@Example.com", "strauss@example.com")]
    public void Email_addresses_are_case_folded(string raw, string canonical) =>
        ThirdPartyId.Parse(Media.Email, raw).Value.Address.Should().Be(canonical);

    [Theory]
    [InlineData("+44 7700 900123", "447700900123")]
    [InlineData("18005552067", "18005552067")]
    public void Msisdns_are_digits_without_plus(string raw, string canonical) =>
        ThirdPartyId.Parse(Media.Msisdn, raw).Value.Address.Should().Be(canonical);

    [Theory]
    [InlineData("email", "not-an-address", "M_INVALID_PARAM")]
    [InlineData("email", "Bob <bob@example.org>", "M_INVALID_PARAM")]
    [InlineData("email", "mailto:bob@example.org", "M_INVALID_PARAM")]
    [InlineData("email", "a@b@c", "M_INVALID_PARAM")]
    [InlineData("msisdn", "call me", "M_INVALID_PARAM")]
    [InlineData("fax", "123456", "M_INVALID_PARAM")]
    [InlineData("", "bob@example.org", "M_MISSING_PARAM")]
    public void Bad_addresses_and_unknown_media_are_refused(string medium, string address, string errcode) =>
        ThirdPartyId.Parse(medium, address).Error!.ErrCode.Should().Be(errcode);

    [Theory]
    [InlineData("cheeky@monkey.com", "ch...@mo...")]
    [InlineData("someone@example.org", "so...@ex...")]
    [InlineData("ab@cd.io", "a...@c...")]
    public void Obfuscation_keeps_only_a_prefix(string address, string expected)
    {
        var id = ThirdPartyId.Parse(Media.Email, address).Value;
        AddressPrivacy.Obfuscate(id).Should().Be(expected);
        AddressPrivacy.Reveals(AddressPrivacy.Obfuscate(id), id).Should().BeFalse();
    }

    [Theory]
    [InlineData("Someone@Example.org", true)]
    [InlineData("invite for someone@example.org please", true)]
    [InlineData("some one@example.org", true)]
    [InlineData("A very cheeky monkey", false)]
    [InlineData("someone", false)]
    public void Reveals_finds_the_address_however_it_is_written(string text, bool reveals) =>
        AddressPrivacy.Reveals(text, ThirdPartyId.Parse(Media.Email, "someone@example.org").Value).Should().Be(reveals);

    [Fact]
    public void The_address_never_appears_in_ToString()
    {
        var id = ThirdPartyId.Parse(Media.Email, "someone@example.org").Value;
        id.ToString().Should().NotContain("someone@example.org");
        new InviteByThirdPartyId
        {
            RoomId = "!r:example.org", Sender = "@a:example.org", IdServer = "localhost", Medium = "email", Address = "someone@example.org",
            IdAccessToken = "secret-token",
        }.ToString().Should().NotContain("someone@example.org").And.NotContain("secret-token");
    }

    [Theory]
    [InlineData("abc123", true)]
    [InlineData("A.b=c_d-e", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("slash/", false)]
    public void Opaque_strings_follow_the_identity_service_grammar(string value, bool valid) =>
        OpaqueString.IsValid(value).Should().Be(valid);
}
