using Matrix.Rooms.Domain.Identifiers;

namespace Matrix.Rooms.Domain.Tests.Identifiers;

/// <summary>Spec appendices "User Identifiers" (strict, compliant, historical) and "Room IDs".</summary>
public class IdentifierGrammarTests
{
    [Theory]
    //            value                              strict  compliant historical
    [InlineData("@alice:example.org",                 true,  true,  true)]
    [InlineData("@a.b_c=d-e/f+g:example.org:8448",    true,  true,  true)]
    [InlineData("@Alice:example.org",                 false, true,  true)]
    [InlineData("@al!ce~#:example.org",               false, true,  true)]
    [InlineData("@:example.org",                      false, false, true)]  // empty localpart
    [InlineData("@élève:example.org",                 false, false, true)]
    [InlineData("@a b:example.org",                   false, false, true)]  // space
    [InlineData("@\u0007bell:example.org",            false, false, true)]  // control character
    [InlineData("@\u202Eevil:example.org",            false, false, true)]  // format character
    [InlineData("@😀:example.org",                    false, false, true)]  // a surrogate pair is one code point
    [InlineData("@a\u0000b:example.org",              false, false, false)] // NUL
    [InlineData("@a:b:example.org",                   false, false, false)] // the first ':' ends the localpart
    [InlineData("@alice",                             false, false, false)]
    [InlineData("alice:example.org",                  false, false, false)]
    [InlineData("@alice:",                            false, false, false)]
    [InlineData("@alice:exa mple.org",                false, false, false)]
    public void User_ids_in_the_three_grammars(string value, bool strict, bool compliant, bool historical)
    {
        (UserId.TryParseStrict(value, out _), UserId.IsValid(value), UserId.IsValidHistorical(value))
            .Should().Be((strict, compliant, historical));
    }

    [Fact]
    public void A_lone_surrogate_is_not_a_code_point()
    {
        // Built in code: an attribute argument would store U+FFFD in its place.
        var lone = new string('\ud83d', 1);
        UserId.IsValidHistorical($"@{lone}x:example.org").Should().BeFalse();
        UserId.IsValidHistorical($"@x{lone}:example.org").Should().BeFalse();
        RoomId.IsValidLenient($"!{lone}:example.org").Should().BeFalse();
    }

    [Fact]
    public void Every_grammar_keeps_the_255_byte_limit()
    {
        var longest = "@" + new string('a', 255 - "@:x".Length) + ":x";
        UserId.IsValidHistorical(longest).Should().BeTrue();
        UserId.IsValidHistorical("@" + new string('é', 130) + ":x").Should().BeFalse("260 bytes in UTF-8");
    }

    [Fact]
    public void A_historical_user_id_has_a_server()
    {
        UserId.ServerOf("@:example.org").Should().Be("example.org");
        UserId.TryParseHistorical("@\u0007:example.org", out var id).Should().BeTrue();
        (id.Localpart, id.Server).Should().Be(("\u0007", "example.org"));
    }

    [Fact]
    public void Registration_creates_only_strict_user_ids()
    {
        UserId.Create("alice", "example.org").Value.Should().Be("@alice:example.org");
        var historical = () => UserId.Create("Alice", "example.org");
        historical.Should().Throw<ArgumentException>();
        UserId.IsValidLocalpart("Alice", historical: false).Should().BeFalse();
    }

    [Theory]
    [InlineData("!room:example.org", true, true)]
    [InlineData("!\u0007room:example.org", true, false)]          // control character: accepted, never minted
    [InlineData("!\u202Eroom:example.org", true, false)]
    [InlineData("!a room:example.org", true, false)]
    [InlineData("!sPi1pkmNWuu5ykKrQd4_vMdBGkOuYeeiRAMniJ1HPKE", true, true)] // v12: the create event's hash
    [InlineData("!sPi1pkmNWuu5ykKrQd4_vMdBGkOuYeeiRAMniJ1HPK", false, false)] // 42 characters
    [InlineData("!sPi1pkmNWuu5ykKrQd4+vMdBGkOuYeeiRAMniJ1HPKE", false, false)] // not URL-safe
    [InlineData("!a\u0000b:example.org", false, false)]
    [InlineData("!:example.org", false, false)]
    [InlineData("!room", false, false)]
    [InlineData("room:example.org", false, false)]
    public void Room_ids(string value, bool lenient, bool named) =>
        (RoomId.IsValidLenient(value), RoomId.IsValid(value)).Should().Be((lenient, named));

    [Fact]
    public void A_v12_room_id_has_no_server()
    {
        RoomId.ServerOf("!sPi1pkmNWuu5ykKrQd4_vMdBGkOuYeeiRAMniJ1HPKE").Should().BeNull();
        RoomId.FromCreateEventId("$abc").Should().Be("!abc");
    }
}
