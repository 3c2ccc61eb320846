using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Tests.Events;

/// <summary>The redaction algorithm of each room version, against the spec's lists (fragments v1/v6/v9/v11-redactions, v8).</summary>
public class RedactionTests
{
    private static JsonObject Event(string type, string content) => JsonNode.Parse($$$"""
        {
          "event_id": "$e:x", "type": "{{{type}}}", "room_id": "!r:x", "sender": "@a:x", "state_key": "",
          "content": {{{content}}},
          "hashes": {"sha256": "h"}, "signatures": {"x": {"ed25519:0": "s"}}, "depth": 3,
          "prev_events": ["$p"], "prev_state": [], "auth_events": ["$c"], "origin": "x", "origin_server_ts": 1,
          "membership": "join", "unsigned": {"age": 5}, "redacts": "$t", "other": 1
        }
        """)!.AsObject();

    private static string[] KeysOf(JsonObject o) => o.Select(p => p.Key).Order(StringComparer.Ordinal).ToArray();

    private static readonly string[] TopLevelV1 =
        ["auth_events", "content", "depth", "event_id", "hashes", "membership", "origin", "origin_server_ts", "prev_events", "prev_state", "room_id", "sender", "signatures", "state_key", "type"];

    private static readonly string[] TopLevelV11 =
        ["auth_events", "content", "depth", "event_id", "hashes", "origin_server_ts", "prev_events", "room_id", "sender", "signatures", "state_key", "type"];

    public static TheoryData<string> Versions() => new(RoomVersion.All.Select(v => v.Id));

    private static RoomVersion V(string id) => RoomVersion.Get(id) ?? RoomVersion.V12;

    [Theory]
    [MemberData(nameof(Versions))]
    public void Top_level_keys_outside_the_list_are_stripped_and_v11_also_drops_origin_membership_prev_state(string id)
    {
        var redacted = Redaction.Redact(Event("m.room.message", """{"body":"hi"}"""), V(id));

        KeysOf(redacted).Should().Equal(V(id).UpdatedRedactionRules ? TopLevelV11 : TopLevelV1);
        redacted["content"]!.AsObject().Should().BeEmpty();
        redacted.ContainsKey("unsigned").Should().BeFalse();
        redacted.ContainsKey("redacts").Should().BeFalse("top-level redacts is in no version's list");
    }

    [Theory]
    [InlineData("1", "membership")]
    [InlineData("8", "membership")]
    [InlineData("9", "join_authorised_via_users_server,membership")]
    [InlineData("10", "join_authorised_via_users_server,membership")]
    [InlineData("11", "join_authorised_via_users_server,membership,third_party_invite")]
    [InlineData("12", "join_authorised_via_users_server,membership,third_party_invite")]
    public void Member_content(string id, string kept)
    {
        var redacted = Redaction.Redact(Event("m.room.member",
            """{"membership":"invite","displayname":"A","join_authorised_via_users_server":"@b:x","third_party_invite":{"display_name":"d","signed":{"token":"t"}}}"""), V(id));

        var content = redacted["content"]!.AsObject();
        KeysOf(content).Should().Equal(kept.Split(','));
        if (V(id).UpdatedRedactionRules)
            content["third_party_invite"]!.ToJsonString().Should().Be("""{"signed":{"token":"t"}}""");
    }

    [Theory]
    [InlineData("1", "creator")]
    [InlineData("10", "creator")]
    [InlineData("11", "creator,m.federate,room_version")]
    [InlineData("12", "additional_creators,m.federate,room_version")]
    public void Create_content_keeps_creator_before_v11_and_everything_from_v11(string id, string kept)
    {
        var content = id == "12"
            ? """{"additional_creators":["@b:x"],"m.federate":false,"room_version":"12"}"""
            : """{"creator":"@a:x","m.federate":false,"room_version":"1"}""";
        var redacted = Redaction.Redact(Event("m.room.create", content), V(id));

        KeysOf(redacted["content"]!.AsObject()).Should().Equal(kept.Split(','));
    }

    [Theory]
    [InlineData("7", "join_rule")]
    [InlineData("8", "allow,join_rule")]
    [InlineData("12", "allow,join_rule")]
    public void Join_rules_keep_allow_from_v8(string id, string kept) =>
        KeysOf(Redaction.Redact(Event("m.room.join_rules", """{"join_rule":"restricted","allow":[],"x":1}"""), V(id))["content"]!.AsObject())
            .Should().Equal(kept.Split(','));

    [Theory]
    [InlineData("1", false)]
    [InlineData("10", false)]
    [InlineData("11", true)]
    [InlineData("12", true)]
    public void Power_levels_keep_invite_from_v11(string id, bool keepsInvite)
    {
        var redacted = Redaction.Redact(Event("m.room.power_levels",
            """{"ban":1,"events":{},"events_default":1,"invite":1,"kick":1,"redact":1,"state_default":1,"users":{},"users_default":1,"notifications":{"room":1}}"""), V(id));

        var expected = new List<string> { "ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default" };
        if (keepsInvite) expected.Add("invite");
        KeysOf(redacted["content"]!.AsObject()).Should().Equal(expected.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("5", true)]
    [InlineData("6", false)]
    [InlineData("11", false)]
    public void Aliases_content_is_kept_only_in_v1_to_v5(string id, bool kept) =>
        Redaction.Redact(Event("m.room.aliases", """{"aliases":["#a:x"]}"""), V(id))["content"]!.AsObject().ContainsKey("aliases")
            .Should().Be(kept);

    [Theory]
    [MemberData(nameof(Versions))]
    public void History_visibility_keeps_its_key_in_every_version(string id) =>
        KeysOf(Redaction.Redact(Event("m.room.history_visibility", """{"history_visibility":"shared","x":1}"""), V(id))["content"]!.AsObject())
            .Should().Equal("history_visibility");

    [Theory]
    [InlineData("10", false)]
    [InlineData("11", true)]
    [InlineData("12", true)]
    public void Redaction_keeps_content_redacts_from_v11(string id, bool kept) =>
        Redaction.Redact(Event("m.room.redaction", """{"redacts":"$t","reason":"spam"}"""), V(id))["content"]!.ToJsonString()
            .Should().Be(kept ? """{"redacts":"$t"}""" : "{}");

    [Fact]
    public void The_input_is_not_changed()
    {
        var ev = Event("m.room.member", """{"membership":"join","displayname":"A"}""");
        var before = ev.ToJsonString();

        Redaction.Redact(ev, RoomVersion.V11);

        ev.ToJsonString().Should().Be(before);
    }

    [Fact]
    public void A_matrix_event_redacts_through_the_same_function()
    {
        var ev = MatrixEvent.FromJson(Event("m.room.member", """{"membership":"join","displayname":"A"}"""));

        var redacted = Redaction.Redact(ev, RoomVersion.V10);

        redacted.Should().BeOfType<MemberEvent>();
        redacted.Content.ToJsonString().Should().Be("""{"membership":"join"}""");
        redacted.Unsigned.Should().BeNull();
        redacted.Redacts.Should().BeNull();
    }
}
