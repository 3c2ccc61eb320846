using System.Threading.RateLimiting;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites;

/// <summary>
/// Limits invites by third-party identifier per inviter with the framework's token bucket
/// (<c>MatrixRooms:IdentityServer:InviteRateLimit</c>, Synapse's <c>rc_third_party_invite</c> defaults): each attempt
/// takes a token, tokens come back at <c>PerSecond</c> up to <c>Burst</c>. It is checked in the handler, after the
/// <c>id_server</c> is known to be trusted and before the identity server is asked anything, because each attempt costs
/// the identity server a lookup and may send an e-mail. Over the limit: <c>429 M_LIMIT_EXCEEDED</c> with
/// <c>retry_after_ms</c>. In memory, per Host process; the HTTP invite limit (<see cref="MatrixRateLimits.Invite"/>) applies as well.
/// </summary>
public sealed class InviteRateLimiter(IOptions<MatrixRoomsOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(userId =>
        options.Value.IdentityServer.InviteRateLimit is { Enabled: true } limit
            ? RateLimitPartition.GetTokenBucketLimiter(userId, _ => limit.ToTokenBucket())
            : RateLimitPartition.GetNoLimiter(userId), StringComparer.Ordinal);

    /// <summary>Takes a token for <paramref name="userId"/>, or returns the 429 to answer.</summary>
    public MatrixError? TryAcquire(string userId)
    {
        using var lease = _limiter.AttemptAcquire(userId);
        if (lease.IsAcquired) return null;
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero
            ? after
            : options.Value.IdentityServer.InviteRateLimit.TokenPeriod;
        return MatrixRateLimits.LimitExceeded(retryAfter, "Too many invites by third-party identifier: wait before inviting again");
    }

    public void Dispose() => _limiter.Dispose();
}
