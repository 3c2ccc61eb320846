using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Logging.Console;

namespace Matrix.Rooms.Host.Infrastructure.Logging;

/// <summary>
/// Where the Host's console logs go: standard error, always, so standard output carries only what a command (or the
/// server) prints as its result. Schema-creation SQL is not logged at Information: Wolverine's message store logs
/// each migration's whole SQL there, so its category starts at Warning — a default that configuration overrides
/// (<c>Logging:LogLevel:Wolverine.Postgresql.PostgresqlMessageStore</c>). Marten's schema SQL is at Debug
/// (<see cref="ParameterFreeMartenLogger.SchemaChange"/>).
/// </summary>
public static class ConsoleLogging
{
    public static WebApplicationBuilder AddMatrixRoomsConsoleLogging(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        // First source = lowest precedence: every other configuration source wins over these defaults.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = [new("Logging:LogLevel:Wolverine.Postgresql.PostgresqlMessageStore", nameof(LogLevel.Warning))],
        });
        return builder;
    }
}
