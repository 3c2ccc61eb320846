using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Tests.Support;
using Wolverine;
using Wolverine.Tracking;

namespace Matrix.Rooms.Host.Tests.Accounts;

/// <summary>Login and logout write through their handlers on the bus (<see cref="LogIn"/>, <see cref="LogOut"/>), as every write does.</summary>
[Collection(HostCollection.Name)]
public sealed class LoginTests(HostFixture host)
{
    [Fact]
    public async Task Login_and_logout_are_commands_on_the_bus_and_their_tokens_start_and_end_there()
    {
        var (userId, _) = await host.RegisterAsync();
        JsonObject login = null!;
        var tracked = await host.Host.TrackActivity().ExecuteAndWaitAsync((Func<IMessageContext, Task>)(async _ =>
            login = await host.PostOkAsync("/_matrix/client/v3/login", new JsonObject
            {
                ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = userId },
                ["password"] = "correct horse battery", ["device_id"] = "LOGINTEST",
            })));
        tracked.Executed.SingleMessage<LogIn>().Should().Be(new LogIn(userId, "correct horse battery", "LOGINTEST"));
        tracked.Executed.SingleMessage<LogIn>().ToString().Should().NotContain("correct horse battery", "the password stays out of logs");
        var token = login["access_token"]!.GetValue<string>();
        (await host.SendAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", token: token)).Status.Should().Be(200);

        tracked = await host.Host.TrackActivity().ExecuteAndWaitAsync((Func<IMessageContext, Task>)(async _ =>
            await host.PostOkAsync("/_matrix/client/v3/logout", new JsonObject(), token)));
        tracked.Executed.SingleMessage<LogOut>().TokenId.Should().Be(AccessTokens.HashOf(token));
        var (status, body) = await host.SendAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", token: token);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((401, "M_UNKNOWN_TOKEN"));
    }

    [Fact]
    public async Task A_wrong_password_is_refused_by_the_handler_and_issues_no_token()
    {
        var (userId, _) = await host.RegisterAsync();
        var result = await host.Bus.InvokeAsync<LoginResult>(new LogIn(userId, "not the password", null));
        result.AccessToken.Should().BeNull();
        (result.Error!.Status, result.Error.ErrCode).Should().Be((403, "M_FORBIDDEN"));
    }
}
