using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Features.Accounts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Infrastructure.Http;

/// <summary>
/// ASP.NET Core rate limiting for the client API (<see cref="RateLimitsOptions"/>): one policy per action, token
/// buckets from <c>System.Threading.RateLimiting</c>, partitioned per client address where there is no account yet
/// (register, login) and per account where there is (send, invite). A refusal is <c>429 M_LIMIT_EXCEEDED</c> with
/// <c>retry_after_ms</c> and <c>Retry-After</c>. In memory, per Host process.
/// </summary>
public static class MatrixRateLimits
{
    public const string Register = "matrix-register";
    public const string Login = "matrix-login";
    public const string Send = "matrix-send";
    public const string Invite = "matrix-invite";

    public static IServiceCollection AddMatrixRoomsRateLimits(this IServiceCollection services)
    {
        services.AddSingleton<PasswordHashing>();
        services.AddSingleton<FailedLogins>();
        services.AddRateLimiter(options =>
        {
            options.AddPolicy(Register, http =>
            {
                var settings = Settings(http);
                var address = ClientAddress(http);
                // Guests need no credentials at all: their own, older limit (a fixed window per minute).
                if (http.Request.Query["kind"] == "guest")
                    return RateLimitPartition.GetFixedWindowLimiter("guest|" + address, _ => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = Math.Max(1, settings.GuestRegistrationsPerMinute), Window = TimeSpan.FromMinutes(1),
                        QueueLimit = 0, AutoReplenishment = false,
                    });
                return TokenBucket("user|" + address, settings.RateLimits.Register);
            });
            options.AddPolicy(Login, http => TokenBucket(ClientAddress(http), Settings(http).RateLimits.Login));
            options.AddPolicy(Send, http => TokenBucket(AccountOrAddress(http), Settings(http).RateLimits.Send));
            options.AddPolicy(Invite, http => TokenBucket(AccountOrAddress(http), Settings(http).RateLimits.Invite));
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero
                    ? after
                    : TimeSpan.FromSeconds(1);
                return MatrixHttp.WriteErrorAsync(context.HttpContext, LimitExceeded(retryAfter, "Too many requests: wait before trying again"));
            };
        });
        return services;
    }

    /// <summary>
    /// The limiter runs after authorization, so a per-account endpoint's partition is the caller the access token
    /// authenticated (<see cref="HttpContext.User"/>); a request without a valid token was answered 401 before it.
    /// </summary>
    public static WebApplication UseMatrixRoomsRateLimits(this WebApplication app)
    {
        app.UseRateLimiter();
        return app;
    }

    /// <summary>The 429 for a refusal that must wait <paramref name="retryAfter"/>.</summary>
    public static MatrixError LimitExceeded(TimeSpan retryAfter, string error) =>
        MatrixError.LimitExceeded(Math.Max(1, (long)Math.Ceiling(retryAfter.TotalMilliseconds))) with { Error = error };

    /// <summary>
    /// The client address a limit counts against: IPv4 as is, IPv6 by its /64 (one subscriber's usual allocation, so
    /// an attacker cannot step through addresses). Behind a reverse proxy, enable forwarded headers
    /// (<c>ASPNETCORE_FORWARDEDHEADERS_ENABLED=true</c>) or every client shares the proxy's address.
    /// </summary>
    public static string ClientAddress(HttpContext http)
    {
        var address = http.Connection.RemoteIpAddress;
        if (address is null) return "local";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>Spec "Rate limiting": <c>retry_after_ms</c> in the body; HTTP's own <c>Retry-After</c> alongside (v1.10+).</summary>
    public static void AddRetryAfter(HttpResponse response, MatrixError error)
    {
        if (error.Extra?.GetValueOrDefault("retry_after_ms")?.GetValue<long>() is { } ms)
            response.Headers.RetryAfter = ((ms + 999) / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static MatrixRoomsOptions Settings(HttpContext http) =>
        http.RequestServices.GetRequiredService<IOptions<MatrixRoomsOptions>>().Value;

    private static string AccountOrAddress(HttpContext http) =>
        Caller.From(http.User) is { } caller ? "user|" + caller.UserId : "address|" + ClientAddress(http);

    private static RateLimitPartition<string> TokenBucket(string key, RateLimitOptions limit) =>
        limit.Enabled ? RateLimitPartition.GetTokenBucketLimiter(key, _ => limit.ToTokenBucket()) : RateLimitPartition.GetNoLimiter(key);
}
