using System.Text;
using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.ThirdPartyInvites;

namespace Matrix.Rooms.Host.Tests.Security;

/// <summary>
/// No secret in any log line (issue 9, defect 8: <c>?access_token=</c> was written by the request log). Every category,
/// every level (Trace) of a real Kestrel Host is captured while a client uses each kind of secret the API takes: an
/// access token in the query string and in a malformed request line, passwords (right and wrong), an identity-server
/// session's <c>client_secret</c>, <c>sid</c> and token, and the e-mail link that carries them.
/// </summary>
[Collection(SecurityCollection.Name)]
public sealed class SecretLogTests(SecurityFixture host)
{
    [Fact]
    public async Task Secrets_never_reach_the_log()
    {
        using var client = host.NewClient();
        var password = "pw-" + Guid.NewGuid().ToString("N");
        var wrongPassword = "wrong-" + Guid.NewGuid().ToString("N");
        var (alice, token) = await client.RegisterAsync(password: password);

        (await client.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/account/whoami?access_token={token}")).Status.Should().Be(200);
        var unknownToken = "mrt_" + Guid.NewGuid().ToString("N");
        (await client.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/account/whoami?access_token={unknownToken}")).Status.Should().Be(401);
        var loggedIn = await client.LoginAsync(alice, password);
        loggedIn.Status.Should().Be(200);
        var secondToken = loggedIn.Body["access_token"]!.GetValue<string>();
        (await client.LoginAsync(alice, wrongPassword)).Status.Should().Be(403);

        var clientSecret = "cs" + Guid.NewGuid().ToString("N");
        var sid = (await client.OkAsync(HttpMethod.Post, "/_matrix/identity/v2/validate/email/requestToken",
            new JsonObject { ["client_secret"] = clientSecret, ["email"] = ThirdPartyInviteFixture.NewAddress(), ["send_attempt"] = 1 }, token))
            ["sid"]!.GetValue<string>();
        var mailToken = await ThirdPartyInviteFixture.MailTokenAsync(host.MailDrop, sid);
        (await client.SendAsync(HttpMethod.Get,
            $"/_matrix/identity/v2/validate/email/submitToken?sid={sid}&client_secret={clientSecret}&token={mailToken}")).Status.Should().Be(200);

        // Kestrel refuses a malformed request line before any middleware, and its log quotes the line.
        var raw = await host.RawAsync(Encoding.ASCII.GetBytes(
            $"GET /_matrix/client/v3/account/whoami?access_token={secondToken} HTTP/1.1 trailing\r\nHost: x\r\n\r\n"));
        raw.Should().StartWith("HTTP/1.1 400");

        foreach (var (name, secret) in new[]
                 {
                     ("access token", token), ("unknown access token", unknownToken), ("second access token", secondToken),
                     ("password", password), ("wrong password", wrongPassword), ("client_secret", clientSecret), ("sid", sid),
                     ("validation token", mailToken),
                 })
            host.Logs.Containing(secret).Should().BeEmpty($"the {name} must not be logged");
        host.Logs.Containing("access_token=[REDACTED]").Should().NotBeEmpty("the request log still names the request, without the token");
    }
}
