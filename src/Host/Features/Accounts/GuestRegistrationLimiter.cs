using System.Threading.RateLimiting;
using Matrix.Rooms.Host.Infrastructure;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.Accounts;

/// <summary>
/// Guest registration needs no credentials, so it is limited per client address (fixed window, configurable as
/// <c>MatrixRooms:GuestRegistrationsPerMinute</c>). Over the limit: <c>429 M_LIMIT_EXCEEDED</c> with <c>retry_after_ms</c>.
/// </summary>
public sealed class GuestRegistrationLimiter(IOptions<MatrixRoomsOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, options.Value.GuestRegistrationsPerMinute),
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    public bool TryAcquire(HttpContext http, out TimeSpan retryAfter) => TryAcquire(http.Connection.RemoteIpAddress?.ToString() ?? "unknown", out retryAfter);

    public bool TryAcquire(string clientAddress, out TimeSpan retryAfter)
    {
        using var lease = _limiter.AttemptAcquire(clientAddress);
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
