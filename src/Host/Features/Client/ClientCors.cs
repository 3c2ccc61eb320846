namespace Matrix.Rooms.Host.Features.Client;

/// <summary>
/// CORS for browser clients (spec client-server API → "Web Browser Clients"): every origin, the spec's methods and
/// headers, through ASP.NET Core's CORS middleware (which also answers the preflight <c>OPTIONS</c>).
/// </summary>
public static class ClientCors
{
    public static IServiceCollection AddMatrixCors(this IServiceCollection services) =>
        services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.AllowAnyOrigin()
            .WithMethods("GET", "POST", "PUT", "DELETE", "OPTIONS")
            .WithHeaders("X-Requested-With", "Content-Type", "Authorization")));
}
