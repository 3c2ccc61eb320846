using System.Reflection;
using System.Text.RegularExpressions;
using JasperFx;
using JasperFx.CommandLine;
using JasperFx.CommandLine.Commands;
using JasperFx.CommandLine.Help;
using JasperFx.Core.Reflection;
using JasperFx.Core.TypeScanning;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Postgres;
using Matrix.Rooms.Postgres;
using Matrix.Rooms.Tooling.Seeding;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Matrix.Rooms.Host.Commands;

/// <summary>
/// The Host's command line (JasperFx): <c>run</c> (the default) serves; every other command (the tooling's, the demos,
/// Marten's and Wolverine's) writes its results to standard output and nothing else. Logs go to standard error, at
/// warning level for commands unless <c>--verbose</c> (or <c>--log-level</c>), and commands bind a throwaway loopback
/// port instead of the server's.
/// </summary>
/// <remarks>
/// JasperFx's <c>RunJasperFxCommands</c> announces every assembly it searches for commands on standard output and,
/// since a <see cref="WebApplication"/> is built before the command is known, cannot apply <c>--verbose</c> or
/// <c>--log-level</c>. So the executor is put together here from JasperFx's public parts: the same commands (those of
/// JasperFx and of every <c>[assembly: JasperFxAssembly]</c>), found quietly, and the per-command settings applied
/// through configuration, which the built Host's logging follows.
/// </remarks>
public static partial class CommandLine
{
    /// <summary>ASP.NET's own flags: the server reads them from configuration; they are no JasperFx command's.</summary>
    private static readonly string[] AspNetCoreFlags = ["--urls", "--http_ports", "--https_ports"];

    /// <summary>What the tooling needs of the server: the room command path for <c>seed</c>. Nothing runs until a command asks.</summary>
    public static IServiceCollection AddMatrixRoomsCommandLine(this IServiceCollection services) =>
        services.AddScoped<IRoomCommandPath, RoomCommandPath>();

    /// <summary>Runs the server or a command; no PostgreSQL installation is one clear line on standard error and exit code 2.</summary>
    public static async Task<int> RunAsync(WebApplication app, string[] args)
    {
        PostgresBinariesNotFoundException? missing = null;
        try
        {
            if (args.Any(a => AspNetCoreFlags.Contains(a, StringComparer.OrdinalIgnoreCase)))
            {
                app.Services.GetRequiredService<DatabaseConnection>().EnsureServerCanStart();
                await app.RunAsync();
                return 0;
            }
            if (args.Length == 0 || args[0].StartsWith('-')) args = ["run", .. args];

            AnsiConsole.Console = new MarkupRenderingConsole(AnsiConsole.Console);
            var executor = CommandExecutor.For(factory =>
            {
                foreach (var assembly in CommandAssemblies()) factory.RegisterCommands(assembly);
                factory.ConfigureRun = run =>
                {
                    Prepare(run, app);
                    // JasperFx reports a command's exception with its stack trace and exit code 1: not for this one.
                    run.Command = new ReportsMissingServer(run.Command, e => missing = e);
                };
            });
            var exitCode = await executor.ExecuteAsync(args);
            if (missing is null) return exitCode;
        }
        catch (Exception e) when (e.Find<PostgresBinariesNotFoundException>() is { } notFound)
        {
            missing = notFound;
        }
        await Console.Error.WriteLineAsync(missing.Message);
        return 2;
    }

    /// <summary>JasperFx's own commands and those of every assembly marked <c>[assembly: JasperFxAssembly]</c> (Marten, Wolverine, the tooling, …).</summary>
    private static IEnumerable<Assembly> CommandAssemblies() =>
        new[] { typeof(RunCommand).Assembly, typeof(CommandLine).Assembly }
            .Concat(AssemblyFinder.FindAssemblies(a => a.HasAttribute<JasperFxAssemblyAttribute>() && !a.IsDynamic))
            .Concat(AppDomain.CurrentDomain.GetAssemblies().Where(a => a.HasAttribute<JasperFxAssemblyAttribute>() && !a.IsDynamic))
            .Distinct();

    private static void Prepare(CommandRun run, WebApplication app)
    {
        if (run.Input is not IHostBuilderInput input) return; // help, auth-check, visibility-check: no Host
        var serving = run.Command is RunCommand;
        var (verbose, level) = (false, default(LogLevel?));
        if (input is NetCoreInput options)
        {
            // Applied below; left set, JasperFx would try them on a builder and print that it did.
            (verbose, level) = (options.VerboseFlag, options.LogLevelFlag);
            (options.VerboseFlag, options.LogLevelFlag) = (false, null);
        }
        // This project's commands print their results with Console.Out; anything JasperFx reports for them is diagnostics.
        if (run.Command.GetType().Assembly.GetName().Name?.StartsWith("Matrix.Rooms.", StringComparison.Ordinal) == true)
            AnsiConsole.Console = new MarkupRenderingConsole(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }));
        input.HostBuilder = new BuiltHost(app, built => Configure(built, serving, verbose, level));
    }

    private static void Configure(WebApplication app, bool serving, bool verbose, LogLevel? level)
    {
        // The logging follows configuration, so a source added now applies to every logger, made or yet to be made.
        if (MinimumLevel(app.Configuration, serving, verbose, level) is { } minimum)
            ((IConfigurationBuilder)app.Configuration).AddInMemoryCollection([new("Logging:LogLevel:Default", minimum.ToString())]);
        if (serving) return;
        // Commands drive the engine in process and need no HTTP port: never clash with a Host that is serving.
        app.Urls.Clear();
        app.Urls.Add("http://127.0.0.1:0");
    }

    /// <summary>
    /// A command's results are its output, so it logs warnings and errors only, unless configuration says otherwise or
    /// <c>--verbose</c> asks for the configured levels; the server logs as configured (<c>--verbose</c>: debug).
    /// <c>--log-level</c> wins. Null: as configured.
    /// </summary>
    private static LogLevel? MinimumLevel(IConfiguration configuration, bool serving, bool verbose, LogLevel? level)
    {
        if (level is not null) return level;
        if (serving) return verbose ? LogLevel.Debug : null;
        return verbose || configuration["Logging:LogLevel:Default"] is not null ? null : LogLevel.Warning;
    }

    /// <summary>
    /// The Host as JasperFx's commands see it: built already, with the command's settings applied when the command
    /// builds it. <c>--config:Key=Value</c> works (configuration is read when services are first made); what needs
    /// a builder (<c>--environment</c>, <c>--content-root</c>, services) stays as configured.
    /// </summary>
    private sealed class BuiltHost(WebApplication app, Action<WebApplication> configure) : IHostBuilder
    {
        public IDictionary<object, object> Properties { get; } = new Dictionary<object, object>();

        public IHost Build()
        {
            configure(app);
            // Before anything starts (and logs its failure): a missing PostgreSQL installation is reported on its own.
            app.Services.GetRequiredService<DatabaseConnection>().EnsureServerCanStart();
            return app;
        }

        public IHostBuilder ConfigureAppConfiguration(Action<HostBuilderContext, IConfigurationBuilder> configureDelegate)
        {
            configureDelegate(new HostBuilderContext(Properties) { Configuration = app.Configuration, HostingEnvironment = app.Environment },
                (IConfigurationBuilder)app.Configuration);
            return this;
        }

        public IHostBuilder ConfigureHostConfiguration(Action<IConfigurationBuilder> configureDelegate)
        {
            Console.Error.WriteLine("Ignored: the Host is built before the command runs, so its environment and content root are as configured " +
                                    "(set DOTNET_ENVIRONMENT, or pass --environment to dotnet run before '--')");
            return this;
        }

        /// <summary>Left as they are, as JasperFx does for a built Host (Marten's <c>projections</c> asks to replace the console logging, which the command line quiets anyway).</summary>
        public IHostBuilder ConfigureServices(Action<HostBuilderContext, IServiceCollection> configureDelegate) => this;

        public IHostBuilder UseServiceProviderFactory<TContainerBuilder>(IServiceProviderFactory<TContainerBuilder> factory)
            where TContainerBuilder : notnull => throw Built("the service provider");

        public IHostBuilder UseServiceProviderFactory<TContainerBuilder>(Func<HostBuilderContext, IServiceProviderFactory<TContainerBuilder>> factory)
            where TContainerBuilder : notnull => throw Built("the service provider");

        public IHostBuilder ConfigureContainer<TContainerBuilder>(Action<HostBuilderContext, TContainerBuilder> configureDelegate) =>
            throw Built("the container");

        private static InvalidOperationException Built(string what) =>
            new($"The Host is built before the command runs, so a command line flag cannot change {what}");
    }

    private sealed class ReportsMissingServer(IJasperFxCommand inner, Action<PostgresBinariesNotFoundException> report) : IJasperFxCommand
    {
        public Type InputType => inner.InputType;
        public UsageGraph Usages => inner.Usages;

        public async Task<bool> Execute(object input)
        {
            try
            {
                return await inner.Execute(input);
            }
            catch (Exception e) when (e.Find<PostgresBinariesNotFoundException>() is { } missing)
            {
                report(missing);
                return false;
            }
        }
    }

    /// <summary>
    /// JasperFx writes a few lines with <c>AnsiConsole.WriteLine</c> that are markup (<c>[purple]Finished rebuild in
    /// 1170 ms[/]</c>), which Spectre prints as they are; this console renders such a line as the markup it is.
    /// </summary>
    private sealed partial class MarkupRenderingConsole(IAnsiConsole inner) : IAnsiConsole
    {
        public Spectre.Console.Profile Profile => inner.Profile;
        public IAnsiConsoleCursor Cursor => inner.Cursor;
        public IAnsiConsoleInput Input => inner.Input;
        public IExclusivityMode ExclusivityMode => inner.ExclusivityMode;
        public RenderPipeline Pipeline => inner.Pipeline;
        public void Clear(bool home) => inner.Clear(home);
        public void WriteAnsi(Action<AnsiWriter> action) => inner.WriteAnsi(action);

        public void Write(IRenderable renderable) => inner.Write(renderable is Text text && AsMarkup(text) is { } markup ? markup : renderable);

        private Markup? AsMarkup(Text text)
        {
            var plain = string.Concat(((IRenderable)text).Render(RenderOptions.Create(inner), int.MaxValue).Select(s => s.Text));
            if (!WholeLineMarkup().IsMatch(plain)) return null;
            try
            {
                return new Markup(plain);
            }
            catch (InvalidOperationException)
            {
                return null; // brackets that are not markup after all: print the text as it is
            }
        }

        [GeneratedRegex(@"^\[[a-z][a-z0-9 _]*\].*\[/\]$", RegexOptions.Singleline)]
        private static partial Regex WholeLineMarkup();
    }
}
