using Microsoft.Extensions.DependencyInjection.Extensions;
using JasperFx;
using JasperFx.CodeGeneration;
using JasperFx.Events;
using Marten;
using Marten.Exceptions;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Commands;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Admin;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Features.Redactions;
using Matrix.Rooms.Host.Features.Reading;
using Matrix.Rooms.Host.Features.Client;
using Matrix.Rooms.Host.Features.ServerKeys;
using Matrix.Rooms.Host.Features.Devices;
using Matrix.Rooms.Host.Features.RoomDirectory;
using Matrix.Rooms.Host.Features.Forget;
using Matrix.Rooms.Host.Features.Profile;
using Matrix.Rooms.Host.Features.PushRules;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Features.Sync;
using Matrix.Rooms.Host.Features.ThirdPartyInvites;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Host.Infrastructure.Logging;
using Matrix.Rooms.Host.Infrastructure.Postgres;
using Matrix.Rooms.Postgres;
using Matrix.Rooms.Projections;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Serialization.SystemTextJson;
using Npgsql;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Marten;

namespace Matrix.Rooms.Host.Infrastructure;

/// <summary>The Host's wiring, in two calls: <see cref="AddMatrixRooms"/> on the builder and <see cref="UseMatrixRoomsApi"/> on the app.</summary>
public static class HostRegistration
{
    public const string DefaultUrl = "http://127.0.0.1:8008";

    public static WebApplicationBuilder AddMatrixRooms(this WebApplicationBuilder builder)
    {
        // --urls / ASPNETCORE_URLS win; otherwise serve on the Matrix convention's port, loopback only.
        if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls(DefaultUrl);
        builder.WebHost.UseMatrixBodyLimit();

        builder.Services.AddOptions<MatrixRoomsOptions>().Bind(builder.Configuration.GetSection(MatrixRoomsOptions.Section))
            .Validate(o => Domain.Authorization.RoomVersion.Get(o.DefaultRoomVersion) is not null,
                $"{MatrixRoomsOptions.Section}:DefaultRoomVersion must be a room version the engine implements (1–12)")
            .ValidateOnStart();
        builder.AddMatrixRoomsTelemetry();
        builder.Services.AddSecretRedactingLogging();
        builder.AddMatrixRoomsConsoleLogging();
        builder.Services.AddSingleton<IClock>(SystemClock.Instance);
        builder.Services.AddSingleton<DatabaseConnection>();
        // Rooms over several databases (MatrixRooms:Shards; none: one database, as always). docs/scale-out.md.
        var shards = Sharding.RoomShards.FromConfiguration(builder.Configuration);
        if (shards.IsSharded && string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("Marten")))
            throw new InvalidOperationException($"{Sharding.RoomShards.Section} needs ConnectionStrings:Marten (the main database, shard 0)");
        builder.Services.AddSingleton(shards);
        builder.Services.AddScoped<Sharding.RoomSessions>();
        builder.Services.AddServerSigningKey();
        builder.Services.AddScoped<RoomReader>();
        builder.Services.TryAddScoped<Features.RoomDirectory.IRoomDirectoryVisibility, Features.RoomDirectory.PublishedRoomDirectory>();
        builder.Services.AddMatrixErrorHandling();
        builder.Services.AddMatrixAuthentication();
        builder.Services.AddMatrixRoomsRateLimits();
        builder.Services.AddMatrixCors();
        builder.AddThirdPartyInvites();
        builder.AddRoomsAdmin();
        builder.AddMatrixSync();
        builder.Services.AddMatrixRoomsCommandLine();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.ConfigureForNodaTime(DateTimeZoneProviders.Tzdb).AllowMatrixDepth());

        // Generated handler code (Wolverine's; Marten 9 generates none here): Production loads what `codegen write`
        // committed to src/Host/Internal/Generated. Auto, not Static: a handler missing there (added since) is compiled at
        // its first use, as in development, instead of failing; nothing is written back. Development and in-process tests
        // compile at runtime. Infrastructure/GeneratedCodeTests fails while the committed code is stale (README).
        builder.Services.CritterStackDefaults(defaults =>
        {
            defaults.Production.GeneratedCodeMode = TypeLoadMode.Auto;
            defaults.Production.SourceCodeWritingEnabled = false;
            defaults.Development.GeneratedCodeMode = TypeLoadMode.Dynamic;
            defaults.GeneratedCodeOutputPath = GeneratedCodeDirectory(builder);
        });
        builder.Services.AddMarten(sp =>
            {
                var options = new StoreOptions();
                var configuration = sp.GetRequiredService<IConfiguration>();
                var main = DatabaseConnection.WithStatementPreparation(sp.GetRequiredService<DatabaseConnection>().ConnectionString);
                options.AddMatrixRooms(main, configuration["MatrixRooms:Schema"])
                    .UseProjectionVersions(configuration);
                // Quick append: every append names its expected version, so Marten need not read the stream first.
                options.Events.AppendMode = EventAppendMode.Quick;
                options.Schema.For<Account>();
                options.Schema.For<AccessTokenRecord>().Index(x => x.UserId);
                options.Schema.For<SentTransaction>().Index(x => x.EventId);
                options.Schema.For<RoomAliasEntry>().Index(x => x.RoomId);
                options.Schema.For<PublishedRoom>();
                options.Schema.For<Features.Profile.UserProfile>();
                options.Schema.For<Features.Devices.DeviceName>();
                options.Schema.For<Features.Forget.ForgottenRoom>();
                options.Schema.For<Features.PushRules.PushRuleSettings>();
                // Every document type is registered, so its table is created at start-up (below), not on its first use:
                // several nodes starting on a fresh database raced to create one, and a request answered 500
                // (Infrastructure/SchemaAtStartupTests).
                options.Logger(new ParameterFreeMartenLogger(sp.GetRequiredService<ILoggerFactory>().CreateLogger<IDocumentStore>()));
                shards.Configure(options, main, DatabaseConnection.WithStatementPreparation);
                return options;
            })
            .UseLightweightSessions()
            // The whole schema at start-up, not table by table on first use: readers that query the event store
            // directly (/sync's positions) must find it on a fresh database, before the first append.
            .ApplyAllDatabaseChangesOnStartup()
            // Async projections and subscriptions (none today: every projection is inline) would run as Wolverine agents,
            // spread over the live nodes and moved off a dead one (docs/scale-out.md), instead of Marten's own daemon.
            .IntegrateWithWolverine(m =>
            {
                m.UseWolverineManagedEventSubscriptionDistribution = true;
                // Sharded: Wolverine's node tracking and envelopes stay in the main database (each shard gets its own envelope tables too).
                if (shards.IsSharded) m.MainDatabaseConnectionString = builder.Configuration.GetConnectionString("Marten");
            });

        var cluster = builder.Configuration.GetSection(ClusterOptions.Section).Get<ClusterOptions>() ?? new ClusterOptions();
        builder.Host.UseWolverine(opts =>
        {
            // Balanced by default: nodes register in the database, elect a leader and share Wolverine's agents (docs/scale-out.md).
            cluster.ApplyTo(opts.Durability);
            opts.UseRuntimeCompilation();
            // The handlers live here, whichever assembly hosts the engine (the Host itself, a test, a benchmark, an embedder),
            // and so does their pre-generated code (Internal/Generated): Wolverine looks for it in the application
            // assembly, which would otherwise be the embedder's entry assembly, and would compile every handler at runtime.
            opts.ApplicationAssembly = typeof(HostRegistration).Assembly;
            opts.Discovery.IncludeAssembly(typeof(HostRegistration).Assembly);
            opts.Policies.AutoApplyTransactions();
            opts.Policies.UseDurableLocalQueues();
            opts.Services.AddSingleton<IClock>(SystemClock.Instance);
            opts.UseSystemTextJsonForSerialization(json => json.ConfigureForNodaTime(DateTimeZoneProviders.Tzdb).AllowMatrixDepth());

            opts.AddRoomWrites(); // lock-and-load middleware and concurrency retries (Features/Rooms/RoomWritePolicy)
            opts.OnException<NpgsqlException>(e => e.IsTransient)
                .RetryWithCooldown(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1));
        });
        return builder;
    }

    /// <summary>Where <c>codegen write</c> writes: inside the Host's project, so the code compiles into the Host, whether the
    /// command runs from the repository root (<c>dotnet run --project src/Host</c>) or from src/Host;
    /// <c>MatrixRooms:GeneratedCodeDirectory</c> elsewhere (the staleness test).</summary>
    private static string GeneratedCodeDirectory(WebApplicationBuilder builder)
    {
        if (builder.Configuration["MatrixRooms:GeneratedCodeDirectory"] is { Length: > 0 } configured) return configured;
        var root = builder.Environment.ContentRootPath;
        var project = File.Exists(Path.Combine(root, "Matrix.Rooms.Host.csproj")) ? root : Path.Combine(root, "src", "Host");
        return Path.Combine(project, "Internal", "Generated");
    }

    public static WebApplication UseMatrixRoomsApi(this WebApplication app)
    {
        // First: a preflight is answered before anything else, and the headers are added to every answer (errors too).
        app.UseCors();
        app.UseMatrixErrorHandling();
        // Explicitly here, inside the error handling: WebApplication would otherwise add them ahead of it.
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMatrixRoomsRateLimits();
        app.MapVersions();
        app.MapWellKnown();
        app.MapServerKeys();
        foreach (var prefix in new[] { "/_matrix/client/v3", "/_matrix/client/r0" })
        {
            // Every client endpoint needs a caller unless it says it takes no token (register, login): fail closed.
            var api = app.MapGroup(prefix).RequireMatrixCaller();
            api.MapRegister();
            api.MapLogin();
            api.MapCreateRoom();
            api.MapRoomMembership();
            api.MapSendEvent();
            api.MapRedact();
            api.MapRoomAliases();
            api.MapPublicRooms();
            api.MapRoomReads();
            api.MapCapabilities();
            api.MapJoinedRooms();
            api.MapPushRules();
            api.MapProfile();
            api.MapDevices();
            api.MapForgetRoom();
            api.MapSync();
        }
        // The seed's 2015 path for inviting (spec r0 predecessor).
        app.MapPost("/_matrix/client/api/v1/rooms/{roomId}/invite", RoomEndpoints.Invite).For(ClientEndpoint.Invite)
            .RequireMatrixCaller().RequireRateLimiting(MatrixRateLimits.Invite);
        app.MapThirdPartyInvites();
        app.MapRoomsAdmin(); // operator API (time travel), loopback or MatrixRooms:Admin:Token only
        app.MapFallback(UnrecognizedRequest.Answer);

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var options = app.Services.GetRequiredService<IOptions<MatrixRoomsOptions>>().Value;
            foreach (var url in app.Urls)
                app.Logger.LogInformation("Matrix.Rooms serving {ServerName} on {Url}", options.ServerName, url);
        });
        return app;
    }

    /// <summary>Runs the server or a command-line command (<see cref="CommandLine"/>).</summary>
    public static Task<int> RunMatrixRoomsAsync(this WebApplication app, string[] args) => CommandLine.RunAsync(app, args);
}
