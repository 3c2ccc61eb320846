using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Accounts;

[Collection(HostCollection.Name)]
public sealed class AccountTests(HostFixture host)
{
    private const string Register = "/_matrix/client/v3/register";

    [Fact]
    public async Task Register_without_auth_answers_the_dummy_flow_then_registers_with_it()
    {
        var name = "alice" + Guid.NewGuid().ToString("N")[..6];
        var (status, flows) = await host.PostAsync(Register, new JsonObject { ["username"] = name, ["password"] = "long enough pw" });
        status.Should().Be(401);
        flows["flows"]![0]!["stages"]![0]!.GetValue<string>().Should().Be("m.login.dummy");

        var registered = await host.PostOkAsync(Register, new JsonObject
        {
            ["username"] = name, ["password"] = "long enough pw",
            ["auth"] = new JsonObject { ["type"] = "m.login.dummy", ["session"] = flows["session"]!.GetValue<string>() },
        });
        registered["user_id"]!.GetValue<string>().Should().Be($"@{name}:localhost");

        var (whoStatus, who) = await host.SendAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", token: registered["access_token"]!.GetValue<string>());
        whoStatus.Should().Be(200);
        who["user_id"]!.GetValue<string>().Should().Be($"@{name}:localhost");
        who["is_guest"]!.GetValue<bool>().Should().BeFalse();
    }

    [Theory]
    [InlineData("Has Spaces", "M_INVALID_USERNAME")]
    [InlineData("colon:inside", "M_INVALID_USERNAME")]
    [InlineData("guest_123", "M_INVALID_USERNAME")]
    public async Task Invalid_usernames_are_refused(string username, string errcode)
    {
        var (status, body) = await host.PostAsync(Register, new JsonObject
        {
            ["username"] = username, ["password"] = "long enough pw", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        status.Should().Be(400);
        body["errcode"]!.GetValue<string>().Should().Be(errcode);
    }

    [Fact]
    public async Task Taken_usernames_and_weak_passwords_are_refused()
    {
        var (userId, _) = await host.RegisterAsync();
        var localpart = userId[1..userId.IndexOf(':')];
        var (status, body) = await host.PostAsync(Register, new JsonObject
        {
            ["username"] = localpart, ["password"] = "long enough pw", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_USER_IN_USE"));

        (status, body) = await host.PostAsync(Register, new JsonObject
        {
            ["username"] = "weak" + Guid.NewGuid().ToString("N")[..6], ["password"] = "short", ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
        });
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_WEAK_PASSWORD"));
    }

    [Fact]
    public async Task Login_issues_a_token_and_logout_revokes_it()
    {
        var (userId, _) = await host.RegisterAsync();
        var login = await host.PostOkAsync("/_matrix/client/v3/login", new JsonObject
        {
            ["type"] = "m.login.password",
            ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = userId },
            ["password"] = "correct horse battery",
        });
        var token = login["access_token"]!.GetValue<string>();

        (await host.PostAsync("/_matrix/client/v3/logout", new JsonObject(), token)).Status.Should().Be(200);
        var (status, body) = await host.SendAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", token: token);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((401, "M_UNKNOWN_TOKEN"));
    }

    [Fact]
    public async Task Wrong_password_is_forbidden()
    {
        var (userId, _) = await host.RegisterAsync();
        var (status, body) = await host.PostAsync("/_matrix/client/v3/login", new JsonObject
        {
            ["type"] = "m.login.password", ["user"] = userId, ["password"] = "not the password",
        });
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
    }

    [Fact]
    public async Task Missing_token_is_401_M_MISSING_TOKEN()
    {
        var (status, body) = await host.SendAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami");
        (status, body["errcode"]!.GetValue<string>()).Should().Be((401, "M_MISSING_TOKEN"));
    }

    [Fact]
    public async Task Token_is_accepted_as_access_token_query_parameter()
    {
        var (userId, token) = await host.RegisterAsync();
        var (status, body) = await host.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/account/whoami?access_token={token}");
        status.Should().Be(200);
        body["user_id"]!.GetValue<string>().Should().Be(userId);
    }
}
