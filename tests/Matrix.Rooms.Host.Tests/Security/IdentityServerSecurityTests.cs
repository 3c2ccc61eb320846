using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;
using Matrix.Rooms.IdentityServer;
using Matrix.Rooms.Host.Tests.ThirdPartyInvites;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;

namespace Matrix.Rooms.Host.Tests.Security;

/// <summary>
/// The embedded identity server's e-mail validation (issue 9, defect 8): links built from the configured public URL,
/// never from the <c>Host</c> header; <c>next_link</c> only to allowed hosts; mail-drop files readable by the owner only
/// and holding nothing but what the message needs.
/// </summary>
[Collection(SecurityCollection.Name)]
public sealed class IdentityServerSecurityTests(SecurityFixture host)
{
    private const string RequestToken = "/_matrix/identity/v2/validate/email/requestToken";

    [Fact]
    public async Task The_validation_link_uses_the_public_base_url_whatever_the_host_header_says()
    {
        using var client = host.NewClient();
        var (_, token) = await client.RegisterAsync();
        var secret = "cs" + Guid.NewGuid().ToString("N");

        var response = await client.SendAsync(HttpMethod.Post, RequestToken,
            new JsonObject { ["client_secret"] = secret, ["email"] = ThirdPartyInviteFixture.NewAddress(), ["send_attempt"] = 1 }, token,
            request => request.Headers.Host = "attacker.example:38999");

        response.Status.Should().Be(200, response.Body.ToJsonString());
        var sid = response.Body["sid"]!.GetValue<string>();
        var mail = await MailOfAsync(sid);
        mail.Should().NotContain("attacker.example");
        LinkIn(mail).Should().StartWith($"{host.BaseUrl}/_matrix/identity/v2/validate/email/submitToken?sid={sid}&client_secret={secret}&token=");
    }

    [Fact]
    public async Task Mail_drop_files_are_private_and_hold_only_what_the_message_needs()
    {
        if (OperatingSystem.IsWindows()) return; // Unix permissions only
        using var client = host.NewClient();
        var (alice, token) = await client.RegisterAsync(password: "alice-password-" + Guid.NewGuid().ToString("N")[..8]);
        var secret = "cs" + Guid.NewGuid().ToString("N");
        var sid = (await client.OkAsync(HttpMethod.Post, RequestToken,
            new JsonObject { ["client_secret"] = secret, ["email"] = ThirdPartyInviteFixture.NewAddress(), ["send_attempt"] = 1 }, token))
            ["sid"]!.GetValue<string>();
        // And an invitation e-mail, from an invite by address (the homeserver token serves as the identity-server token).
        var room = await client.CreateRoomAsync(token);
        await client.OkAsync(HttpMethod.Post, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/invite",
            ThirdPartyInviteFixture.ThirdPartyInvite(ThirdPartyInviteFixture.NewAddress(), token), token);

        // Both leave through the identity server's outbox once their transactions commit.
        await ThirdPartyInviteFixture.MailAsync(host.MailDrop, text => text.Contains($"Session: {sid}"));
        await ThirdPartyInviteFixture.MailAsync(host.MailDrop, text => text.Contains("X-Matrix-Rooms-Mail: invitation") && text.Contains(room));
        File.GetUnixFileMode(host.MailDrop).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var files = Directory.GetFiles(host.MailDrop, "*.eml");
        files.Should().Contain(f => f.Contains("-invitation-")).And.Contain(f => f.Contains("-validation-"));
        foreach (var file in files)
        {
            File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, $"{file} holds a token");
            File.ReadAllText(file).Should().NotContain(token, "no access token belongs in an e-mail").And.NotContain("alice-password-");
        }
        var mail = await MailOfAsync(sid);
        mail.Should().Contain("Token: ").And.Contain($"Session: {sid}");
        var invitation = files.Select(File.ReadAllText).Single(t => t.Contains("X-Matrix-Rooms-Mail: invitation") && t.Contains(alice));
        invitation.Should().NotContain(secret);
    }

    [Theory]
    [InlineData("https://evil.example/phish")]
    [InlineData("http://attacker.example:38999/")]
    [InlineData("javascript:alert(1)")]
    [InlineData("file:///etc/passwd")]
    [InlineData("//evil.example/")]
    [InlineData("https://app.example.org@evil.example/")]
    [InlineData("https://user@app.example.org/")]
    public async Task A_next_link_to_a_host_not_allowed_is_refused_and_nothing_is_sent(string nextLink)
    {
        using var client = host.NewClient();
        var (_, token) = await client.RegisterAsync();
        var address = ThirdPartyInviteFixture.NewAddress();

        var response = await client.PostAsync(RequestToken, new JsonObject
        {
            ["client_secret"] = "cs" + Guid.NewGuid().ToString("N"), ["email"] = address, ["send_attempt"] = 1, ["next_link"] = nextLink,
        }, token);

        (response.Status, response.ErrCode).Should().Be((400, "M_INVALID_PARAM"));
        var mails = Directory.Exists(host.MailDrop) ? Directory.GetFiles(host.MailDrop, "*.eml").Select(File.ReadAllText) : [];
        mails.Should().NotContain(m => m.Contains(address), "a refused request sends no mail");
    }

    [Theory]
    [InlineData("https://app.example.org/validated?x=1")]
    [InlineData("own")]
    public async Task A_next_link_on_an_allowed_host_is_followed_after_validation(string nextLink)
    {
        if (nextLink == "own") nextLink = $"{host.BaseUrl}/welcome";
        using var client = host.NewClient();
        var (_, token) = await client.RegisterAsync();
        var sid = (await client.OkAsync(HttpMethod.Post, RequestToken, new JsonObject
        {
            ["client_secret"] = "cs" + Guid.NewGuid().ToString("N"), ["email"] = ThirdPartyInviteFixture.NewAddress(), ["send_attempt"] = 1,
            ["next_link"] = nextLink,
        }, token))["sid"]!.GetValue<string>();

        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var answer = await browser.GetAsync(LinkIn(await MailOfAsync(sid)));

        ((int)answer.StatusCode).Should().Be(302);
        answer.Headers.Location!.AbsoluteUri.Should().Be(new Uri(nextLink).AbsoluteUri);
    }

    [Fact]
    public async Task A_stored_next_link_the_policy_does_not_allow_is_not_followed()
    {
        // A session from before the policy (or another configuration) with a next_link to anywhere.
        var session = new IdentityValidationSession
        {
            Id = "sid" + Guid.NewGuid().ToString("N")[..12], Medium = "email", Address = ThirdPartyInviteFixture.NewAddress(),
            ClientSecret = "legacysecret", Token = "legacytoken", SendAttempt = 1, NextLink = "https://evil.example/phish",
            CreatedAt = SystemClock.Instance.GetCurrentInstant(), ModifiedAt = SystemClock.Instance.GetCurrentInstant(),
        };
        await using (var write = host.App.Services.GetRequiredService<IIdentityStore>().LightweightSession())
        {
            write.Store(session);
            await write.SaveChangesAsync();
        }

        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var answer = await browser.GetAsync(
            $"{host.BaseUrl}/_matrix/identity/v2/validate/email/submitToken?sid={session.Id}&client_secret=legacysecret&token=legacytoken");

        ((int)answer.StatusCode).Should().Be(200);
        answer.Headers.Location.Should().BeNull();
        (await answer.Content.ReadAsStringAsync()).Should().Contain("validated");
    }

    private Task<string> MailOfAsync(string sid) =>
        ThirdPartyInviteFixture.MailAsync(host.MailDrop, text => text.Contains($"Session: {sid}", StringComparison.Ordinal));

    private static string LinkIn(string mail) =>
        mail.Split('\n').Select(l => l.Trim()).Single(l => l.Contains("/validate/email/submitToken?", StringComparison.Ordinal));
}
