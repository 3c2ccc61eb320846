using Matrix.Rooms.IdentityServer.Http;
using Wolverine;

namespace Matrix.Rooms.IdentityServer.Standalone;

/// <summary>
/// The identity server as its own process: <c>dotnet run --project src/IdentityServer</c>. It serves the identity
/// service API on <see cref="DefaultUrl"/> (or <c>--urls</c> / <c>ASPNETCORE_URLS</c>), reads its settings from the
/// <c>IdentityServer</c> section (environment <c>IdentityServer__…</c>) and keeps its documents in the PostgreSQL
/// database of <c>ConnectionStrings:Identity</c>, schema <c>identity</c>. Homeservers are reached over HTTP only, and
/// only those listed in <c>IdentityServer:Homeservers</c>.
/// </summary>
internal static class IdentityServerProgram
{
    public const string DefaultUrl = "http://127.0.0.1:8090";
    public const string Section = "IdentityServer";
    public const string ConnectionStringName = "Identity";

    public static async Task<int> Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        // The embedded PostgreSQL launcher belongs to the Host, which this project does not reference: the database is
        // named, or the server does not start.
        if (builder.Configuration.GetConnectionString(ConnectionStringName) is not { Length: > 0 } connectionString)
        {
            await Console.Error.WriteLineAsync(
                $"The identity server needs a PostgreSQL database: set ConnectionStrings:{ConnectionStringName} " +
                $"(environment ConnectionStrings__{ConnectionStringName}), e.g. \"Host=127.0.0.1;Port=5432;Database=identity;Username=…;Password=…\".");
            return 2;
        }
        if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls(DefaultUrl);
        builder.WebHost.UseMatrixBodyLimit();
        // ASP.NET's request log writes the whole request line, and GET submitToken carries sid, client_secret and
        // token in its query: only warnings from there.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddMatrixIdentityServer(builder.Configuration.GetSection(Section), _ => connectionString);
        // Wolverine for the outbox of mails and bind notifications (IdentityOutbox); its only store is the identity store.
        builder.Host.UseWolverine(opts => opts.UseRuntimeCompilation());
        builder.Services.AddExceptionHandler<IdentityServerExceptionHandler>();
        builder.Services.AddProblemDetails();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages(context => context.HttpContext.Response.ContentLength is null or 0
            ? IdentityHttp.WriteAsync(context.HttpContext,
                Domain.Errors.MatrixError.Unrecognized("Unrecognized request") with { Status = context.HttpContext.Response.StatusCode })
            : Task.CompletedTask);
        app.UseMiddleware<RequestTextGate>();
        app.MapMatrixIdentityServer();
        app.MapFallback((HttpContext http) => IdentityHttp.Error(
            Domain.Errors.MatrixError.Unrecognized($"Unrecognized request: {http.Request.Method} {http.Request.Path}")));
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var name = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<IdentityServerOptions>>().Value.EffectiveServerName;
            foreach (var url in app.Urls) Console.WriteLine($"Matrix.Rooms identity server {name} serving on {url}");
        });
        await app.RunAsync();
        return 0;
    }
}
