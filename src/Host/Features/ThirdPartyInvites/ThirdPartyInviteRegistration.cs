using Marten;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.OpenId;
using Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Postgres;
using Matrix.Rooms.IdentityServer;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites;

/// <summary>Wiring for third-party invites and the identity servers: one call on the builder, one on the app.</summary>
public static class ThirdPartyInviteRegistration
{
    public static WebApplicationBuilder AddThirdPartyInvites(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        // Outbound calls to identity servers never follow redirects: a trusted server must not be able to send this one
        // to an arbitrary host.
        services.AddHttpClient(IdentityServers.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2), ConnectTimeout = TimeSpan.FromSeconds(10),
            });
        // The identity server (project Matrix.Rooms.IdentityServer), embedded: its settings share the section of the
        // homeserver's, its server name and data directory default to the Host's, its store (schema 'identity') shares
        // the Host's database, and it asks this homeserver things in process through the spec-shaped port
        // (EmbeddingHomeserver).
        services.AddMatrixIdentityServer(builder.Configuration.GetSection($"{MatrixRoomsOptions.Section}:IdentityServer"),
            sp => sp.GetRequiredService<DatabaseConnection>().ConnectionString);
        services.AddOptions<IdentityServerOptions>().PostConfigure<IOptions<MatrixRoomsOptions>>((identity, host) =>
        {
            identity.ServerName ??= host.Value.ServerName;
            identity.DataDirectory ??= host.Value.ResolveDataDirectory();
        });
        services.AddSingleton<IEmbeddingHomeserver, EmbeddingHomeserver>();
        services.AddSingleton<EmbeddedIdentityServerNames>();
        services.AddSingleton<IdentityServers>();
        services.AddSingleton<OpenIdTokens>();
        services.AddSingleton<InviteRateLimiter>();
        services.AddSingleton<OnBindProcessor>();
        services.ConfigureMarten(options =>
        {
            options.Schema.For<OpenIdTokenRecord>();
            options.Schema.For<ThirdPartyInviteAddress>().Index(x => x.Address);
            options.Schema.For<AccountThreepidBinding>().Index(x => x.UserId);
        });
        return builder;
    }

    /// <summary>
    /// Maps <c>/account/3pid/bind</c> and OpenID under the client prefixes, this server's own third-party-invite
    /// endpoints, the server-server <c>/3pid/onbind</c>, <c>/exchange_third_party_invite</c> and OpenID
    /// <c>userinfo</c>, and (unless disabled) the embedded identity server under <c>/_matrix/identity/v2</c>.
    /// </summary>
    public static WebApplication MapThirdPartyInvites(this WebApplication app)
    {
        foreach (var prefix in new[] { "/_matrix/client/v3", "/_matrix/client/r0" })
            app.MapGroup(prefix).RequireMatrixCaller().MapThirdPartyInviteClientApi();
        app.MapThirdPartyInviteServerApi();
        if (app.Services.GetRequiredService<IOptions<MatrixRoomsOptions>>().Value.IdentityServer.Embedded)
            app.MapMatrixIdentityServer();
        return app;
    }
}
