using System.Text;
using System.Text.Json.Nodes;

namespace Matrix.Rooms.Host.Tests.Security;

/// <summary>
/// What a real Kestrel answers to broken HTTP (issue 9, defect 8), over raw TCP. Refusals made while Kestrel parses the
/// request line and headers (400, 414, 431, 505) are written by Kestrel before any middleware runs and cannot carry a
/// body (aspnet/KestrelHttpServer#2947: "this category of errors is not customisable"); the tests pin that they stay
/// well-formed, empty, and leave the server serving. Refusals made while the application reads the body reach the
/// pipeline and are Matrix error JSON.
/// </summary>
[Collection(SecurityCollection.Name)]
public sealed class KestrelErrorTests(SecurityFixture host)
{
    public static TheoryData<string, string, int> ParserRefusals => new()
    {
        { "over-long URL", $"GET /_matrix/client/versions?{new string('a', 10_000)} HTTP/1.1\r\nHost: x\r\n\r\n", 414 },
        { "huge headers", $"GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\nX-Big: {new string('b', 40_000)}\r\n\r\n", 431 },
        { "malformed request line", "GET /_matrix/client/versions HTTP/1.1 nonsense\r\nHost: x\r\n\r\n", 400 },
        { "unsupported HTTP version", "GET /_matrix/client/versions HTTP/1.7\r\nHost: x\r\n\r\n", 505 },
        { "missing Host header", "GET /_matrix/client/versions HTTP/1.1\r\n\r\n", 400 },
    };

    [Theory]
    [MemberData(nameof(ParserRefusals))]
    public async Task Kestrels_parser_refusals_are_well_formed_and_the_server_keeps_serving(string what, string request, int status)
    {
        var answer = await host.RawAsync(Encoding.ASCII.GetBytes(request));

        answer.Should().StartWith($"HTTP/1.1 {status} ", what);
        answer.Should().MatchRegex("(?i)content-length: 0", "Kestrel writes these itself, without a body");
        (await host.RawAsync(Encoding.ASCII.GetBytes("GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n\r\n")))
            .Should().StartWith("HTTP/1.1 200 ");
    }

    [Fact]
    public async Task A_broken_chunked_body_is_a_matrix_error()
    {
        using var client = host.NewClient();
        var (_, token) = await client.RegisterAsync();
        var answer = await host.RawAsync(Encoding.ASCII.GetBytes(
            "POST /_matrix/client/v3/createRoom HTTP/1.1\r\nHost: x\r\n" +
            $"Authorization: Bearer {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "zz\r\n{}\r\n0\r\n\r\n"));

        var (status, _, text) = SecurityFixture.ParseRaw(answer);
        status.Should().Be(400, answer);
        var body = JsonNode.Parse(text)!;
        body["errcode"]!.GetValue<string>().Should().StartWith("M_");
        body["error"]!.GetValue<string>().Should().NotBeEmpty();
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_M_TOO_LARGE()
    {
        var answer = await host.RawAsync(Encoding.ASCII.GetBytes(
            "POST /_matrix/client/v3/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{"));

        answer.Should().StartWith("HTTP/1.1 413 ");
        answer.Should().Contain("\"errcode\":\"M_TOO_LARGE\"");
    }
    [Fact]
    public async Task A_body_just_over_the_limit_gets_its_413_and_the_connection_stays_usable()
    {
        // The endpoint refuses on Content-Length before reading; Kestrel must be able to drain the rest, or it closes the
        // connection while the client is still writing and the client sees a broken pipe instead of the 413.
        using var client = host.NewClient();
        var justTooLarge = "{\"a\":\"" + new string('x', Matrix.Rooms.Web.MatrixRequestBody.MaxBodyBytes) + "\"}";
        for (var attempt = 0; attempt < 12; attempt++)
        {
            var answer = await client.SendAsync(HttpMethod.Post, "/_matrix/identity/v2/account/register", configure: request =>
                request.Content = new StringContent(justTooLarge, Encoding.UTF8, "application/json"));
            (answer.Status, answer.Body["errcode"]?.GetValue<string>()).Should().Be((413, "M_TOO_LARGE"), $"attempt {attempt}");
        }
        (await client.SendAsync(HttpMethod.Get, "/_matrix/client/versions")).Status.Should().Be(200);
    }
}
