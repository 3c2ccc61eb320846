using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Tests.Events;

/// <summary>The redaction algorithm per room version, against the spec's fragments (v1, v6, v8, v9, v11).</summary>
public class RedactionPerFragmentTests
{
    private static JsonObject Event(string type, JsonObject content, string? stateKey = "") => new()
    {
        ["event_id"] = "$e", ["type"] = type, ["room_id"] = "!r:example.org", ["sender"] = "@a:example.org", ["state_key"] = stateKey,
        ["origin_server_ts"] = 1, ["origin"] = "example.org", ["membership"] = "join", ["prev_state"] = new JsonArray(),
        ["depth"] = 3, ["hashes"] = new JsonObject { ["sha256"] = "x" }, ["redacts"] = "$old", ["unsigned"] = new JsonObject { ["age"] = 5 },
        ["content"] = content.DeepClone(),
    };

    private static IEnumerable<string> ContentKeys(string type, JsonObject content, RoomVersion version) =>
        Redaction.Redact(Event(type, content), version)["content"]!.AsObject().Select(p => p.Key);

    [Theory]
    [InlineData("1", true)]
    [InlineData("10", true)]
    [InlineData("11", false)]
    public void Top_level_keys_outside_the_list_go_and_v11_no_longer_protects_origin_membership_prev_state(string id, bool kept)
    {
        var redacted = Redaction.Redact(Event("m.room.message", new JsonObject { ["body"] = "secret" }), RoomVersion.Get(id)!);

        redacted.ContainsKey("unsigned").Should().BeFalse();
        redacted.ContainsKey("redacts").Should().BeFalse("the top-level redacts is not on any version's list");
        redacted["content"]!.AsObject().Should().BeEmpty();
        foreach (var key in new[] { "event_id", "type", "room_id", "sender", "state_key", "hashes", "depth", "origin_server_ts" })
            redacted.ContainsKey(key).Should().BeTrue(key);
        foreach (var key in new[] { "origin", "membership", "prev_state" }) redacted.ContainsKey(key).Should().Be(kept, key);
    }

    [Fact]
    public void Member_events_keep_membership_then_join_authorised_via_from_v9_and_the_signed_invite_from_v11()
    {
        var content = new JsonObject
        {
            ["membership"] = "join", ["displayname"] = "Alice", ["join_authorised_via_users_server"] = "@b:example.org",
            ["third_party_invite"] = new JsonObject { ["display_name"] = "a…@e…", ["signed"] = new JsonObject { ["token"] = "t" } },
        };
        ContentKeys("m.room.member", content, RoomVersion.V8).Should().BeEquivalentTo("membership");
        ContentKeys("m.room.member", content, RoomVersion.V9).Should().BeEquivalentTo("membership", "join_authorised_via_users_server");
        var v11 = Redaction.Redact(Event("m.room.member", content), RoomVersion.V11)["content"]!;
        v11["third_party_invite"]!.AsObject().Select(p => p.Key).Should().Equal("signed");
        v11["third_party_invite"]!["signed"]!["token"]!.GetValue<string>().Should().Be("t");
    }

    [Fact]
    public void Create_keeps_only_creator_before_v11_and_everything_from_v11()
    {
        var content = new JsonObject { ["creator"] = "@a:example.org", ["room_version"] = "11", ["m.federate"] = false };
        ContentKeys("m.room.create", content, RoomVersion.V10).Should().BeEquivalentTo("creator");
        ContentKeys("m.room.create", content, RoomVersion.V11).Should().BeEquivalentTo("creator", "room_version", "m.federate");
    }

    [Fact]
    public void Join_rules_keep_allow_from_v8_and_aliases_are_kept_only_until_v5()
    {
        var rules = new JsonObject { ["join_rule"] = "restricted", ["allow"] = new JsonArray(), ["other"] = 1 };
        ContentKeys("m.room.join_rules", rules, RoomVersion.V7).Should().BeEquivalentTo("join_rule");
        ContentKeys("m.room.join_rules", rules, RoomVersion.V8).Should().BeEquivalentTo("join_rule", "allow");
        var aliases = new JsonObject { ["aliases"] = new JsonArray("#a:example.org") };
        ContentKeys("m.room.aliases", aliases, RoomVersion.V5).Should().BeEquivalentTo("aliases");
        ContentKeys("m.room.aliases", aliases, RoomVersion.V6).Should().BeEmpty();
    }

    [Fact]
    public void Power_levels_keep_invite_from_v11_and_redactions_keep_content_redacts_from_v11()
    {
        var levels = new JsonObject { ["ban"] = 50, ["invite"] = 0, ["notifications"] = new JsonObject(), ["users"] = new JsonObject() };
        ContentKeys("m.room.power_levels", levels, RoomVersion.V10).Should().BeEquivalentTo("ban", "users");
        ContentKeys("m.room.power_levels", levels, RoomVersion.V11).Should().BeEquivalentTo("ban", "invite", "users");
        var redaction = new JsonObject { ["redacts"] = "$old", ["reason"] = "spam" };
        ContentKeys("m.room.redaction", redaction, RoomVersion.V10).Should().BeEmpty();
        ContentKeys("m.room.redaction", redaction, RoomVersion.V11).Should().BeEquivalentTo("redacts");
        ContentKeys("m.room.history_visibility", new JsonObject { ["history_visibility"] = "shared", ["x"] = 1 }, RoomVersion.V1)
            .Should().BeEquivalentTo("history_visibility");
    }

    [Fact]
    public void The_input_is_not_changed()
    {
        var ev = Event("m.room.message", new JsonObject { ["body"] = "secret" });
        var before = ev.ToJsonString();
        Redaction.Redact(ev, RoomVersion.V11);
        ev.ToJsonString().Should().Be(before);
    }
}
