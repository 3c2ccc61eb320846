using Marten;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using NodaTime;
using Wolverine;
using Wolverine.Marten;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The identity server's wiring, in two calls: <see cref="AddMatrixIdentityServer"/> on the services and
/// <see cref="MapMatrixIdentityServer"/> on the app. The Host makes both (embedded, the default) and adds an
/// <see cref="IEmbeddingHomeserver"/>; <c>Program.cs</c> makes them for the identity server as its own process.
/// </summary>
public static class IdentityServerRegistration
{
    /// <param name="section">The settings (<see cref="IdentityServerOptions"/>): <c>MatrixRooms:IdentityServer</c> embedded, <c>IdentityServer</c> standalone.</param>
    /// <param name="connectionString">The PostgreSQL database of its store (<see cref="IIdentityStore"/>), asked once, when the store is first used.</param>
    public static IServiceCollection AddMatrixIdentityServer(this IServiceCollection services, IConfiguration section,
        Func<IServiceProvider, string> connectionString)
    {
        services.AddOptions<IdentityServerOptions>()
            .Bind(section)
            .Configure(o => o.ConfigurationPath = (section as IConfigurationSection)?.Path ?? o.ConfigurationPath);
        // Outbound calls to homeservers never follow redirects: a homeserver must not be able to send this server to
        // an arbitrary host.
        services.AddHttpClient(HomeserverClient.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2), ConnectTimeout = TimeSpan.FromSeconds(10),
            });
        services.TryAddSingleton<IClock>(SystemClock.Instance);
        services.AddSingleton<IdentityKeyStore>();
        services.AddSingleton<MailDrop>();
        services.AddSingleton<HomeserverClient>();
        services.AddSingleton<IdentityService>();
        services.AddSingleton<PublicBaseUrl>();
        services.AddSingleton<NextLinkPolicy>();
        // Wolverine's outbox on this store: its envelope tables sit in the store's schema, so a mail or a notification is
        // stored in the transaction of the documents that cause it. The host (the Host embedded, Program.cs standalone)
        // runs Wolverine; the queue and the handlers are registered here (IdentityOutbox).
        services.AddMartenStore<IIdentityStore>(sp => IdentityStore.Options(connectionString(sp),
                sp.GetRequiredService<IOptions<IdentityServerOptions>>().Value, sp.GetRequiredService<ILoggerFactory>().CreateLogger<IIdentityStore>()))
            .IntegrateWithWolverine();
        services.ConfigureWolverine(IdentityOutbox.Configure);
        return services;
    }

    /// <summary>Maps the identity service API: <c>/_matrix/identity/versions</c> and <c>/_matrix/identity/v2/…</c>.</summary>
    public static IEndpointRouteBuilder MapMatrixIdentityServer(this IEndpointRouteBuilder app)
    {
        app.MapIdentityServerApi();
        return app;
    }
}
