using System.Text.Json.Nodes;
using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.Security;

/// <summary>
/// Rate limits over real HTTP (issue 9, defect 8): register and login per client address, failed logins per attempted
/// user, send and invite per account, guest registration per address. Each refusal is <c>429 M_LIMIT_EXCEEDED</c> with
/// <c>retry_after_ms</c> and <c>Retry-After</c>, and stores nothing. The fixture's limits barely refill, so the counts
/// are exact.
/// </summary>
[Collection(SecurityCollection.Name)]
public sealed class RateLimitTests(SecurityFixture host)
{
    [Fact]
    public async Task Registration_is_limited_per_client_address()
    {
        using var client = host.NewClient();
        for (var i = 0; i < SecurityFixture.RegisterBurst; i++) await client.RegisterAsync();
        var username = "late" + Guid.NewGuid().ToString("N")[..8];

        var refused = await client.RegisterRawAsync(username);

        ShouldBeLimitExceeded(refused);
        await using (var session = Store.QuerySession())
            (await session.LoadAsync<Features.Accounts.Account>($"@{username}:localhost")).Should().BeNull("a refused registration stores nothing");
        using var other = host.NewClient();
        (await other.RegisterRawAsync(username)).Status.Should().Be(200, "the limit is per address");
    }

    [Fact]
    public async Task Guest_registration_is_limited_per_client_address()
    {
        using var client = host.NewClient();
        for (var i = 0; i < SecurityFixture.GuestsPerMinute; i++)
            (await client.PostAsync("/_matrix/client/v3/register?kind=guest", new JsonObject())).Status.Should().Be(200);

        ShouldBeLimitExceeded(await client.PostAsync("/_matrix/client/v3/register?kind=guest", new JsonObject()));
        using var other = host.NewClient();
        (await other.PostAsync("/_matrix/client/v3/register?kind=guest", new JsonObject())).Status.Should().Be(200, "the limit is per address");
    }

    [Fact]
    public async Task Login_is_limited_per_client_address()
    {
        using var registrar = host.NewClient();
        var (userId, _) = await registrar.RegisterAsync();
        using var client = host.NewClient();
        for (var i = 0; i < SecurityFixture.LoginBurst; i++)
            (await client.LoginAsync(userId, "correct horse battery")).Status.Should().Be(200);

        ShouldBeLimitExceeded(await client.LoginAsync(userId, "correct horse battery"));
        using var other = host.NewClient();
        (await other.LoginAsync(userId, "correct horse battery")).Status.Should().Be(200, "the address limit is per address");
    }

    [Fact]
    public async Task Wrong_passwords_lock_the_attempted_user_out_from_every_address()
    {
        using var registrar = host.NewClient();
        var (victim, _) = await registrar.RegisterAsync();
        var (bystander, _) = await registrar.RegisterAsync();
        for (var i = 0; i < SecurityFixture.FailedLoginBurst; i++)
        {
            // A new address each time: the attacker spreads the guesses.
            using var attacker = host.NewClient();
            var wrong = await attacker.LoginAsync(victim, $"guess number {i}");
            (wrong.Status, wrong.ErrCode).Should().Be((403, "M_FORBIDDEN"));
        }

        using var later = host.NewClient();
        ShouldBeLimitExceeded(await later.LoginAsync(victim, "another guess"));
        ShouldBeLimitExceeded(await later.LoginAsync(victim, "correct horse battery"), "even the right password waits until the lockout ends");
        (await later.LoginAsync(bystander, "correct horse battery")).Status.Should().Be(200, "the lockout is per attempted user");
    }

    [Fact]
    public async Task Sending_is_limited_per_account_across_its_devices_and_stores_nothing_when_refused()
    {
        using var client = host.NewClient();
        var (alice, token) = await client.RegisterAsync();
        var room = await client.CreateRoomAsync(token);
        var secondDevice = (await client.LoginAsync(alice, "correct horse battery")).Body["access_token"]!.GetValue<string>();
        for (var i = 0; i < SecurityFixture.SendBurst - 1; i++) (await client.SendMessageAsync(token, room, $"m{i}")).Status.Should().Be(200);
        (await client.SendMessageAsync(secondDevice, room, "last")).Status.Should().Be(200);
        var before = await EventCountAsync(room);

        ShouldBeLimitExceeded(await client.SendMessageAsync(token, room, "one too many"));
        ShouldBeLimitExceeded(await client.SendMessageAsync(secondDevice, room, "from the other device"), "the limit is the account's, not the token's");
        ShouldBeLimitExceeded(await client.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/state/m.room.topic/",
            new JsonObject { ["topic"] = "state counts too" }, token));
        (await EventCountAsync(room)).Should().Be(before, "a refused send appends nothing");

        var (_, bobToken) = await client.RegisterAsync();
        var bobRoom = await client.CreateRoomAsync(bobToken);
        (await client.SendMessageAsync(bobToken, bobRoom, "another account, same address")).Status.Should().Be(200);
    }

    [Fact]
    public async Task Inviting_is_limited_per_account()
    {
        using var client = host.NewClient();
        var (_, token) = await client.RegisterAsync();
        var room = await client.CreateRoomAsync(token);
        for (var i = 0; i < SecurityFixture.InviteBurst; i++)
            (await client.PostAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/invite",
                new JsonObject { ["user_id"] = $"@invitee{i}_{Guid.NewGuid():N}:localhost" }, token)).Status.Should().Be(200);
        var before = await EventCountAsync(room);

        ShouldBeLimitExceeded(await client.PostAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/invite",
            new JsonObject { ["user_id"] = "@one_too_many:localhost" }, token));
        ShouldBeLimitExceeded(await client.PostAsync($"/_matrix/client/api/v1/rooms/{Uri.EscapeDataString(room)}/invite",
            new JsonObject { ["user_id"] = "@legacy_path:localhost" }, token), "the seed's v1 path shares the limit");
        (await EventCountAsync(room)).Should().Be(before);
    }

    internal static void ShouldBeLimitExceeded(SecurityFixture.Response response, string because = "")
    {
        (response.Status, response.ErrCode).Should().Be((429, "M_LIMIT_EXCEEDED"), because + " " + response.Body.ToJsonString());
        response.Body["error"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        var retryAfterMs = response.Body["retry_after_ms"]!.GetValue<long>();
        retryAfterMs.Should().BePositive();
        response.Headers.RetryAfter.Should().NotBeNull("HTTP's Retry-After goes with retry_after_ms");
        response.Headers.RetryAfter!.Delta!.Value.TotalMilliseconds.Should().BeGreaterThanOrEqualTo(retryAfterMs - 999);
    }

    private IDocumentStore Store => host.App.Services.GetRequiredService<IDocumentStore>();

    private async Task<int> EventCountAsync(string roomId)
    {
        await using var session = Store.QuerySession();
        return (await session.Events.FetchStreamAsync(roomId)).Count;
    }
}
