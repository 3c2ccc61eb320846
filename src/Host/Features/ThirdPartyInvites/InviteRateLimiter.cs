using System.Collections.Concurrent;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Infrastructure;
using Microsoft.Extensions.Options;
using NodaTime;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites;

/// <summary>
/// Limits invites by third-party identifier per inviter with a token bucket (<see cref="IdentityServer.RateLimitOptions"/>):
/// each attempt takes a token, tokens come back at <c>PerSecond</c> up to <c>Burst</c>. It is checked before the
/// identity server is asked anything, because each attempt costs the identity server a lookup and may send an e-mail.
/// Over the limit: <c>429 M_LIMIT_EXCEEDED</c> with <c>retry_after_ms</c>. In memory, per Host process.
/// </summary>
public sealed class InviteRateLimiter(IOptions<MatrixRoomsOptions> options, IClock clock)
{
    private const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes a token for <paramref name="userId"/>, or returns the 429 to answer.</summary>
    public MatrixError? TryAcquire(string userId)
    {
        var limit = options.Value.IdentityServer.InviteRateLimit;
        if (limit.PerSecond <= 0 || limit.Burst <= 0) return null; // disabled
        var now = clock.GetCurrentInstant();
        if (_buckets.Count > PruneAbove) Prune(now, limit.PerSecond, limit.Burst);

        var bucket = _buckets.GetOrAdd(userId, _ => new Bucket(limit.Burst, now));
        lock (bucket)
        {
            bucket.Refill(now, limit.PerSecond, limit.Burst);
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                return null;
            }
            var retryAfterMs = (long)Math.Ceiling((1 - bucket.Tokens) / limit.PerSecond * 1000);
            return MatrixError.LimitExceeded(Math.Max(1, retryAfterMs)) with
            {
                Error = "Too many invites by third-party identifier: wait before inviting again",
            };
        }
    }

    private void Prune(Instant now, double perSecond, int burst)
    {
        foreach (var (user, bucket) in _buckets)
            lock (bucket)
            {
                bucket.Refill(now, perSecond, burst);
                if (bucket.Tokens >= burst) _buckets.TryRemove(user, out _);
            }
    }

    private sealed class Bucket(double tokens, Instant at)
    {
        public double Tokens { get; set; } = tokens;
        private Instant _at = at;

        public void Refill(Instant now, double perSecond, int burst)
        {
            var elapsed = (now - _at).TotalSeconds;
            if (elapsed > 0) Tokens = Math.Min(burst, Tokens + elapsed * perSecond);
            _at = now;
        }
    }
}
