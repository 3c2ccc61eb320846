using System.Runtime.CompilerServices;

namespace Matrix.Rooms.Host.Tests.Support;

/// <summary>
/// The suites register hundreds of accounts and send thousands of requests from one address, far past the Host's real
/// defaults. Every Host this test process starts (in process or as a child process, which inherits the environment)
/// therefore runs without the per-address and per-account rate limits and with a deep hashing queue, unless its own
/// configuration says otherwise — as the security suite's does (<see cref="Security.SecurityFixture"/>), which sets low
/// limits and tests them.
/// </summary>
internal static class TestRateLimits
{
    public static readonly IReadOnlyDictionary<string, string> Unlimited = new Dictionary<string, string>
    {
        ["MatrixRooms__RateLimits__Register__PerSecond"] = "0",
        ["MatrixRooms__RateLimits__Login__PerSecond"] = "0",
        ["MatrixRooms__RateLimits__FailedLogin__PerSecond"] = "0",
        ["MatrixRooms__RateLimits__Send__PerSecond"] = "0",
        ["MatrixRooms__RateLimits__Invite__PerSecond"] = "0",
        ["MatrixRooms__RateLimits__PasswordHashing__QueueLimit"] = "100000",
        ["MatrixRooms__GuestRegistrationsPerMinute"] = "1000000",
    };

    [ModuleInitializer]
    internal static void Apply()
    {
        foreach (var (name, value) in Unlimited)
            if (Environment.GetEnvironmentVariable(name) is null) Environment.SetEnvironmentVariable(name, value);
    }
}
