using Matrix.Rooms.Domain.Errors;
using Microsoft.AspNetCore.Routing.Template;

namespace Matrix.Rooms.Host.Infrastructure.Http;

/// <summary>
/// The fallback answer: spec "a known path with an unknown method: 405 M_UNRECOGNIZED; an unknown path: 404
/// M_UNRECOGNIZED". The fallback route matches every method, so routing never reaches its own 405: this looks for a
/// route that matches the path under another method.
/// </summary>
public static class UnrecognizedRequest
{
    public static IResult Answer(HttpContext http)
    {
        var error = MatrixError.Unrecognized($"Unrecognized request: {http.Request.Method} {http.Request.Path}");
        return MatrixHttp.Error(KnownPath(http) ? error with { Status = StatusCodes.Status405MethodNotAllowed } : error);
    }

    private static bool KnownPath(HttpContext http)
    {
        var path = http.Request.Path;
        foreach (var endpoint in http.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<HttpMethodMetadata>() is not { } methods || endpoint.Order == int.MaxValue) continue;
            if (endpoint.RoutePattern.RawText is not { } raw || raw.Contains("{*", StringComparison.Ordinal)) continue;
            var matcher = new TemplateMatcher(new RouteTemplate(endpoint.RoutePattern), new RouteValueDictionary());
            if (matcher.TryMatch(path, new RouteValueDictionary())) return true;
        }
        return false;
    }
}
