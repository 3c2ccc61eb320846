using System.Threading.RateLimiting;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.Accounts;

/// <summary>
/// Runs <see cref="PasswordHasher"/> work under a <see cref="ConcurrencyLimiter"/>: at most
/// <see cref="PasswordHashingOptions.EffectiveMaxConcurrent"/> hashes at once (half the cores), at most
/// <see cref="PasswordHashingOptions.QueueLimit"/> waiting, oldest first. A PBKDF2 hash at 600,000 iterations holds a
/// core for its whole run, so without this bound a burst of logins takes every core and every other request waits
/// behind it. Past the queue: <c>429 M_LIMIT_EXCEEDED</c> at once.
/// </summary>
public sealed class PasswordHashing(IOptions<MatrixRoomsOptions> options) : IDisposable
{
    /// <summary>The retry hint when the queue is full: about one hash per waiting slot on a busy server.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Value.RateLimits.PasswordHashing.EffectiveMaxConcurrent,
        QueueLimit = Math.Max(0, options.Value.RateLimits.PasswordHashing.QueueLimit),
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    public Task<Result<string>> HashAsync(string password, CancellationToken ct) =>
        RunAsync(() => PasswordHasher.Hash(password, options.Value.PasswordHashIterations), ct);

    public Task<Result<bool>> VerifyAsync(string password, string stored, CancellationToken ct) =>
        RunAsync(() => PasswordHasher.Verify(password, stored), ct);

    /// <summary>Runs <paramref name="work"/> once a slot is free, or answers the 429 when too many already wait.</summary>
    public async Task<Result<T>> RunAsync<T>(Func<T> work, CancellationToken ct)
    {
        using var lease = await _limiter.AcquireAsync(1, ct);
        if (!lease.IsAcquired)
            return MatrixRateLimits.LimitExceeded(RetryAfter, "The server is busy checking passwords: try again shortly");
        return Result<T>.Ok(work());
    }

    public RateLimiterStatistics? Statistics => _limiter.GetStatistics();

    public void Dispose() => _limiter.Dispose();
}

/// <summary>
/// Failed logins per attempted user ID (<see cref="RateLimitsOptions.FailedLogin"/>, a token bucket per user): each
/// wrong password takes a token; with none left every login for that user is refused until one comes back — so
/// password guessing is slow from any number of addresses. Checked before the password is hashed, so a locked-out user
/// costs no PBKDF2 work.
/// </summary>
public sealed class FailedLogins(IOptions<MatrixRoomsOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(userId =>
        options.Value.RateLimits.FailedLogin is { Enabled: true } limit
            ? RateLimitPartition.GetTokenBucketLimiter(userId, _ => limit.ToTokenBucket())
            : RateLimitPartition.GetNoLimiter(userId), StringComparer.Ordinal);

    /// <summary>The 429 to answer when <paramref name="userId"/> has no failed attempt left, else null.</summary>
    public MatrixError? Check(string userId)
    {
        // Looks without taking. Not a zero-permit acquire: the bucket refills in fractions, and a zero-permit acquire
        // succeeds on any fraction above 0, while a failed attempt needs a whole token.
        if (!options.Value.RateLimits.FailedLogin.Enabled || _limiter.GetStatistics(userId) is not { CurrentAvailablePermits: < 1 }) return null;
        return MatrixRateLimits.LimitExceeded(options.Value.RateLimits.FailedLogin.TokenPeriod,
            "Too many failed logins for this user: wait before trying again");
    }

    public void Record(string userId) => _limiter.AttemptAcquire(userId).Dispose();

    public void Dispose() => _limiter.Dispose();
}
