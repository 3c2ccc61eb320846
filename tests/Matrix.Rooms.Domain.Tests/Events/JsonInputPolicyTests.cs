using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Tests.Events;

/// <summary>The one JSON input policy: what it refuses, with which errcode, and that what it accepts reads back.</summary>
public class JsonInputPolicyTests
{
    private static string Nested(int depth) => new string('[', depth - 1) + "{}" + new string(']', depth - 1);

    public static TheoryData<string, string> Refused() => new()
    {
        { "{\"body\":\"\\ud800\"}", "M_BAD_JSON" },                                  // lone high surrogate
        { "{\"body\":\"\\udc00x\"}", "M_BAD_JSON" },                                 // lone low surrogate
        { "{\"\\ud800\":1}", "M_BAD_JSON" },                                         // in a key
        { "{\"user_id\":\"@b:localhost\",\"user_id\":\"@b:localhost\"}", "M_BAD_JSON" }, // duplicate key
        { "{\"a\":{\"x\":1,\"x\":2}}", "M_BAD_JSON" },                               // duplicate key below the top
        { "{\"body\":\"a\\u0000b\"}", "M_BAD_JSON" },                                // NUL
        { "{\"n\":1e999}", "M_BAD_JSON" },
        { "{\"n\":1e-400}", "M_BAD_JSON" },
        { "{\"n\":1.00000000000000000000000000001}", "M_BAD_JSON" },
        { "{\"n\":1.5}", "M_BAD_JSON" },
        { "{\"n\":1.0}", "M_BAD_JSON" },
        { "{\"n\":9007199254740992}", "M_BAD_JSON" },
        { "{\"n\":-9007199254740992}", "M_BAD_JSON" },
        { "{\"n\":123456789012345678901234567890}", "M_BAD_JSON" },
        { Nested(JsonInputPolicy.MaxDepth + 1), "M_BAD_JSON" },
        { "{\"a\":", "M_NOT_JSON" },
        { "{\"a\":1} {}", "M_NOT_JSON" },
        { "nope", "M_NOT_JSON" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refuses_what_could_not_be_stored_signed_or_read_back(string json, string errcode) =>
        JsonInputPolicy.Parse(json).Error!.ErrCode.Should().Be(errcode);

    [Fact]
    public void Refuses_invalid_utf8_bytes()
    {
        byte[] bytes = [.. "{\"body\":\""u8, 0xED, 0xA0, 0x80, .. "\"}"u8]; // an encoded surrogate (CESU-8)
        JsonInputPolicy.Parse(bytes).Error!.ErrCode.Should().Be("M_BAD_JSON");
        JsonInputPolicy.Parse([.. "{\"body\":\""u8, 0xFF, .. "\"}"u8]).Error!.ErrCode.Should().Be("M_BAD_JSON");
    }

    [Theory]
    [InlineData("{\"n\":9007199254740991,\"m\":-9007199254740991,\"z\":0,\"nz\":-0}")]
    [InlineData("{\"body\":\"\\ud83d\\ude00 😀 \\u0001\",\"x\":[true,false,null,{}]}")]
    [InlineData("[]")]
    public void Accepts_ordinary_json(string json) => JsonInputPolicy.Parse(json).IsSuccess.Should().BeTrue();

    [Fact]
    public void What_it_accepts_at_the_depth_limit_reads_back_inside_envelopes()
    {
        var node = JsonInputPolicy.Parse(Nested(JsonInputPolicy.MaxDepth)).Value;
        // Wrapped as an event's content, then as a response around the event: still readable and writable.
        var ev = MatrixEvent.Create("m.room.message", "!r:x", "@a:x", null, new JsonObject { ["x"] = node.DeepClone() }, default);
        var response = new JsonObject { ["chunk"] = new JsonArray(ev.ToJson()) }.ToJsonString(MatrixJson.Options);
        var back = JsonNode.Parse(response, documentOptions: JsonInputPolicy.DocumentOptions)!;
        MatrixEvent.FromJson(back["chunk"]![0]!.ToJsonString()).Content["x"]!.ToJsonString().Should().Be(node.ToJsonString());
    }

    [Fact]
    public void Values_built_in_code_obey_the_same_policy()
    {
        JsonInputPolicy.Check(new JsonObject { ["n"] = 1.5 })!.ErrCode.Should().Be("M_BAD_JSON");
        JsonInputPolicy.Check(new JsonObject { ["n"] = 1L << 60 })!.ErrCode.Should().Be("M_BAD_JSON");
        JsonInputPolicy.Check(new JsonObject { ["s"] = "a\0" })!.ErrCode.Should().Be("M_BAD_JSON");
        JsonInputPolicy.Check(new JsonObject { ["s"] = "\ud800" })!.ErrCode.Should().Be("M_BAD_JSON");
        JsonInputPolicy.Check(new JsonObject { ["\udc00"] = 1 })!.ErrCode.Should().Be("M_BAD_JSON");
        JsonInputPolicy.Check(JsonNode.Parse(Nested(JsonInputPolicy.MaxDepth + 1), documentOptions: JsonInputPolicy.DocumentOptions))!
            .ErrCode.Should().Be("M_BAD_JSON");
        JsonInputPolicy.Check(JsonNode.Parse(Nested(JsonInputPolicy.MaxDepth), documentOptions: JsonInputPolicy.DocumentOptions)).Should().BeNull();
        JsonInputPolicy.Check(new JsonObject { ["ok"] = new JsonArray(1, "two", true, null) }).Should().BeNull();
    }

    [Fact]
    public void Parsed_bodies_hold_no_lazy_failure()
    {
        // What passes the gate can be read in full without System.Text.Json throwing later (duplicate keys, bad strings).
        var node = JsonInputPolicy.Parse(Encoding.UTF8.GetBytes("{\"a\":{\"b\":[\"x\",{\"c\":\"é\"}]}}")).Value;
        node.ToJsonString(MatrixJson.Options).Should().Be("{\"a\":{\"b\":[\"x\",{\"c\":\"é\"}]}}");
        node["a"]!["b"]![1]!["c"]!.GetValue<string>().Should().Be("é");
    }
}
