using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Devices;

[Collection(HostCollection.Name)]
public sealed class DeviceTests(HostFixture host)
{
    private const string Password = "correct horse battery";

    private async Task<(string Token, string DeviceId)> LoginAsync(string username, string? deviceName = null)
    {
        var body = new JsonObject
        {
            ["type"] = "m.login.password", ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = username }, ["password"] = Password,
        };
        if (deviceName is not null) body["initial_device_display_name"] = deviceName;
        var json = await host.PostOkAsync("/_matrix/client/v3/login", body);
        return (json["access_token"]!.GetValue<string>(), json["device_id"]!.GetValue<string>());
    }

    private static string Name() => "dev" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Devices_are_listed_named_and_renamed()
    {
        var username = Name();
        var (_, first) = await host.RegisterAsync(username);
        var (phone, phoneId) = await LoginAsync(username, "phone");

        var (status, body) = await host.GetAsync("/_matrix/client/v3/devices", first);
        status.Should().Be(200);
        var devices = body["devices"]!.AsArray();
        devices.Should().HaveCount(2);
        devices.Single(d => d!["device_id"]!.GetValue<string>() == phoneId)!["display_name"]!.GetValue<string>().Should().Be("phone");

        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/devices/{phoneId}", """{"display_name":"old phone"}""", first)).Status.Should().Be(200);
        (await host.GetAsync($"/_matrix/client/v3/devices/{phoneId}", phone)).Body["display_name"]!.GetValue<string>().Should().Be("old phone");
        (await host.GetAsync("/_matrix/client/v3/devices/NOSUCHDEVICE", phone)).Body["errcode"]!.GetValue<string>().Should().Be("M_NOT_FOUND");
        (await host.SendAsync(HttpMethod.Put, "/_matrix/client/v3/devices/NOSUCHDEVICE", """{"display_name":"x"}""", phone)).Status.Should().Be(404);
    }

    [Fact]
    public async Task Deleting_a_device_needs_the_password_and_then_ends_its_tokens()
    {
        var username = Name();
        var (_, token) = await host.RegisterAsync(username);
        var (other, otherId) = await LoginAsync(username);
        var url = $"/_matrix/client/v3/devices/{otherId}";

        var (status, challenge) = await host.SendAsync(HttpMethod.Delete, url, "{}", token);
        status.Should().Be(401);
        challenge["flows"]![0]!["stages"]![0]!.GetValue<string>().Should().Be("m.login.password");
        var session = challenge["session"]!.GetValue<string>();

        var wrong = await host.SendAsync(HttpMethod.Delete, url, new JsonObject
        {
            ["auth"] = new JsonObject { ["type"] = "m.login.password", ["session"] = session, ["password"] = "not the password",
                ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = username } },
        }.ToJsonString(), token);
        (wrong.Status, wrong.Body["errcode"]!.GetValue<string>()).Should().Be((401, "M_FORBIDDEN"));
        (await host.GetAsync("/_matrix/client/v3/account/whoami", other)).Status.Should().Be(200, "a refused delete changes nothing");

        var done = await host.SendAsync(HttpMethod.Delete, url, new JsonObject
        {
            ["auth"] = new JsonObject { ["type"] = "m.login.password", ["session"] = session, ["password"] = Password,
                ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = username } },
        }.ToJsonString(), token);
        done.Status.Should().Be(200, done.Body.ToJsonString());
        (await host.GetAsync("/_matrix/client/v3/account/whoami", other)).Body["errcode"]!.GetValue<string>().Should().Be("M_UNKNOWN_TOKEN");
        (await host.GetAsync("/_matrix/client/v3/devices", token)).Body["devices"]!.AsArray().Should().ContainSingle();
    }

    [Fact]
    public async Task Logout_all_ends_every_token_of_the_user_and_no_one_elses()
    {
        var username = Name();
        var (_, token) = await host.RegisterAsync(username);
        var (other, _) = await LoginAsync(username);
        var (_, someoneElse) = await host.RegisterAsync();

        (await host.PostAsync("/_matrix/client/v3/logout/all", new JsonObject(), token)).Status.Should().Be(200);

        (await host.GetAsync("/_matrix/client/v3/account/whoami", token)).Status.Should().Be(401);
        (await host.GetAsync("/_matrix/client/v3/account/whoami", other)).Status.Should().Be(401);
        (await host.GetAsync("/_matrix/client/v3/account/whoami", someoneElse)).Status.Should().Be(200);
    }

    [Fact]
    public async Task A_guest_may_list_and_rename_its_device_but_not_delete_it()
    {
        var (_, guest) = await host.RegisterGuestAsync();
        var devices = (await host.GetAsync("/_matrix/client/v3/devices", guest)).Body["devices"]!.AsArray();
        var deviceId = devices.Should().ContainSingle().Subject!["device_id"]!.GetValue<string>();
        (await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/devices/{deviceId}", """{"display_name":"kiosk"}""", guest)).Status.Should().Be(200);
        var delete = await host.SendAsync(HttpMethod.Delete, $"/_matrix/client/v3/devices/{deviceId}", "{}", guest);
        (delete.Status, delete.Body["errcode"]!.GetValue<string>()).Should().Be((403, "M_GUEST_ACCESS_FORBIDDEN"));
    }
}
