using Microsoft.AspNetCore.Hosting;

namespace Matrix.Rooms.Web;

/// <summary>
/// Kestrel's own request-body limit, shared by both servers. The endpoints refuse anything above
/// <see cref="MatrixRequestBody.MaxBodyBytes"/> with <c>413 M_TOO_LARGE</c> before reading it; Kestrel then drains the
/// unread body so the connection stays usable. Kestrel's limit sits above the endpoints' so that drain succeeds for a
/// body somewhat too large: at the same value Kestrel closes the connection while the client is still writing, and the
/// client sees a broken pipe instead of the 413 (found as a flaky test). Past this backstop the connection is closed,
/// as HTTP/1.1 allows; clients that send <c>Expect: 100-continue</c> get the 413 before they send anything.
/// </summary>
public static class KestrelBodyLimit
{
    public const long DrainableBodyBytes = 4L * MatrixRequestBody.MaxBodyBytes;

    public static IWebHostBuilder UseMatrixBodyLimit(this IWebHostBuilder webHost) =>
        webHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = DrainableBodyBytes);
}
