using Matrix.Rooms.Host.Features.Accounts;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.Security;

/// <summary>
/// Password hashing is bounded (issue 9, defect 8: 16 concurrent logins starved the server): one hash at a time in the
/// fixture, <see cref="SecurityFixture.HashQueue"/> waiting, the next login refused at once with 429 — while requests
/// that hash nothing are served. The hashing slot is held by the test itself, so nothing depends on timing.
/// </summary>
[Collection(SecurityCollection.Name)]
public sealed class PasswordHashingTests(SecurityFixture host)
{
    [Fact]
    public async Task Logins_past_the_hashing_queue_are_refused_and_other_requests_are_served()
    {
        using var client = host.NewClient();
        var (alice, token) = await client.RegisterAsync();
        var hashing = host.App.Services.GetRequiredService<PasswordHashing>();

        using var release = new ManualResetEventSlim();
        var started = new TaskCompletionSource();
        // Hold the only slot with work that waits for the test; it runs on its own thread, as a hash would.
        var holder = Task.Run(() => hashing.RunAsync(() =>
        {
            started.SetResult();
            release.Wait(TimeSpan.FromSeconds(60));
            return true;
        }, CancellationToken.None));
        await started.Task;
        // Fill the queue: these logins wait for the slot.
        using var waiting = host.NewClient();
        var queued = Enumerable.Range(0, SecurityFixture.HashQueue).Select(_ => waiting.LoginAsync(alice, "correct horse battery")).ToList();
        while (hashing.Statistics!.CurrentQueuedCount < SecurityFixture.HashQueue) await Task.Delay(10);

        using var late = host.NewClient();
        RateLimitTests.ShouldBeLimitExceeded(await late.LoginAsync(alice, "correct horse battery"));
        RateLimitTests.ShouldBeLimitExceeded(await late.RegisterRawAsync("u" + Guid.NewGuid().ToString("N")[..10]), "registration hashes too");
        (await late.SendAsync(HttpMethod.Get, "/_matrix/client/versions")).Status.Should().Be(200, "requests that hash nothing are served");
        (await late.SendAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", token: token)).Status.Should().Be(200);

        release.Set();
        (await holder).IsSuccess.Should().BeTrue();
        foreach (var login in queued) (await login).Status.Should().Be(200, "the queued logins are served once the slot is free");
        (await late.LoginAsync(alice, "correct horse battery")).Status.Should().Be(200);
    }
}
