using System.Threading.RateLimiting;

namespace Matrix.Rooms.Host.Infrastructure;

/// <summary>
/// A token bucket: <see cref="Burst"/> requests at once, then <see cref="PerSecond"/> (Synapse's <c>per_second</c> /
/// <c>burst_count</c>). Either value 0 or less turns the limit off.
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>Sustained rate (tokens per second).</summary>
    public double PerSecond { get; set; } = 0.2;

    /// <summary>How many may be sent at once before the rate applies.</summary>
    public int Burst { get; set; } = 10;

    public bool Enabled => PerSecond > 0 && Burst > 0;

    /// <summary>
    /// The framework's token bucket for these settings. Below one token a second, one token comes back every
    /// 1/<see cref="PerSecond"/> seconds; above, <see cref="PerSecond"/> tokens (rounded) every second. No queue: over
    /// the limit is an immediate refusal. Replenished by the partitioned limiter's own timer, hence no auto-replenishment.
    /// </summary>
    public TokenBucketRateLimiterOptions ToTokenBucket() => new()
    {
        TokenLimit = Burst,
        TokensPerPeriod = PerSecond >= 1 ? (int)Math.Round(PerSecond) : 1,
        ReplenishmentPeriod = PerSecond >= 1 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(1 / PerSecond),
        QueueLimit = 0,
        AutoReplenishment = false,
    };

    /// <summary>How long one token takes to come back (the retry hint when the framework gives none).</summary>
    public TimeSpan TokenPeriod => TimeSpan.FromSeconds(1 / PerSecond);
}

/// <summary>
/// Rate limits (section <c>MatrixRooms:RateLimits</c>), per client address for the endpoints without an account, per
/// account for the others. Defaults follow Synapse's (<c>rc_registration</c>, <c>rc_login</c>, <c>rc_message</c>,
/// <c>rc_invites.per_issuer</c>), a little more generous where a request is not an action (registration takes two
/// requests with user-interactive auth). Over a limit: <c>429 M_LIMIT_EXCEEDED</c> with <c>retry_after_ms</c> and
/// <c>Retry-After</c>. Guest registration keeps <see cref="MatrixRoomsOptions.GuestRegistrationsPerMinute"/> and
/// third-party invites <c>MatrixRooms:IdentityServer:InviteRateLimit</c>.
/// </summary>
public sealed class RateLimitsOptions
{
    /// <summary><c>POST /register</c> (full accounts) per client address.</summary>
    public RateLimitOptions Register { get; set; } = new() { PerSecond = 0.17, Burst = 10 };

    /// <summary><c>POST /login</c> per client address.</summary>
    public RateLimitOptions Login { get; set; } = new() { PerSecond = 0.17, Burst = 10 };

    /// <summary>
    /// Failed logins per attempted user, whatever the address: once spent, every login for that user (even with the
    /// right password) is refused until a token comes back. Stricter than Synapse's <c>failed_attempts</c> (0.17/s).
    /// </summary>
    public RateLimitOptions FailedLogin { get; set; } = new() { PerSecond = 1.0 / 60, Burst = 5 };

    /// <summary><c>PUT /send</c> and <c>PUT /state</c> per account.</summary>
    public RateLimitOptions Send { get; set; } = new() { PerSecond = 1, Burst = 20 };

    /// <summary><c>POST /invite</c> (by user ID or third-party ID) per account.</summary>
    public RateLimitOptions Invite { get; set; } = new() { PerSecond = 0.3, Burst = 10 };

    /// <summary>Password hashing (PBKDF2) at once and waiting.</summary>
    public PasswordHashingOptions PasswordHashing { get; set; } = new();
}

/// <summary>
/// How much PBKDF2 work may run at once (section <c>MatrixRooms:RateLimits:PasswordHashing</c>). Each hash costs a
/// core for its whole duration, so at most half the cores hash; the rest serve everything else.
/// </summary>
public sealed class PasswordHashingOptions
{
    /// <summary>Hashes at once; 0 means half the processor count, at least 1.</summary>
    public int MaxConcurrent { get; set; }

    /// <summary>Hashes that may wait for a slot; beyond that a login or registration is refused with 429.</summary>
    public int QueueLimit { get; set; } = 4;

    public int EffectiveMaxConcurrent => MaxConcurrent > 0 ? MaxConcurrent : Math.Max(1, Environment.ProcessorCount / 2);
}
