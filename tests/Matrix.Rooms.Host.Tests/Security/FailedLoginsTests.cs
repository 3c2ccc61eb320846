using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Infrastructure;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Tests.Security;

/// <summary>
/// The lockout holds between refills. The framework's token bucket refills in fractions on its 100 ms heartbeat, and a
/// zero-permit acquire succeeds on any fraction above 0 — so a lockout checked that way ended a moment after it began
/// (the HTTP test caught it as a flake). <see cref="FailedLogins.Check"/> needs a whole token.
/// </summary>
public sealed class FailedLoginsTests
{
    [Fact]
    public async Task A_locked_out_user_stays_locked_out_after_the_limiters_heartbeat()
    {
        using var failedLogins = new FailedLogins(Options.Create(new MatrixRoomsOptions
        {
            RateLimits = new RateLimitsOptions { FailedLogin = new RateLimitOptions { Burst = 2, PerSecond = 0.0001 } },
        }));
        failedLogins.Check("@victim:localhost").Should().BeNull();
        failedLogins.Record("@victim:localhost");
        failedLogins.Record("@victim:localhost");

        // Let the partitioned limiter's heartbeat (every 100 ms) refill a fraction of a token.
        await Task.Delay(TimeSpan.FromMilliseconds(350));

        var refusal = failedLogins.Check("@victim:localhost");
        refusal.Should().NotBeNull();
        (refusal!.Status, refusal.ErrCode).Should().Be((429, "M_LIMIT_EXCEEDED"));
        failedLogins.Check("@bystander:localhost").Should().BeNull("the lockout is per user");
    }
}
