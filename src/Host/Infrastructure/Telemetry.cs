using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Matrix.Rooms.Host.Infrastructure;

/// <summary>
/// OpenTelemetry traces and metrics: ASP.NET Core requests, Wolverine message handling, Marten, and the engine's own
/// command counter. Nothing is exported unless <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>MatrixRooms:OtlpEndpoint</c>)
/// names a collector, so the default costs next to nothing.
/// </summary>
public static class Telemetry
{
    public const string ServiceName = "Matrix.Rooms";
    private static readonly Meter Meter = new(ServiceName);

    /// <summary>Room commands decided, tagged with the command and its outcome (<c>appended</c> or the refusal's errcode).</summary>
    public static readonly Counter<long> RoomCommands = Meter.CreateCounter<long>("matrix_rooms.room_commands", description: "Room commands decided");

    public static WebApplicationBuilder AddMatrixRoomsTelemetry(this WebApplicationBuilder builder)
    {
        var endpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? builder.Configuration["MatrixRooms:OtlpEndpoint"];
        if (string.IsNullOrWhiteSpace(endpoint)) return builder;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(ServiceName))
            .WithTracing(t => t.AddAspNetCoreInstrumentation().AddSource("Wolverine", "Marten").AddOtlpExporter(o => o.Endpoint = new Uri(endpoint)))
            .WithMetrics(m => m.AddAspNetCoreInstrumentation().AddMeter(ServiceName, "Wolverine", "Marten").AddOtlpExporter(o => o.Endpoint = new Uri(endpoint)));
        return builder;
    }
}
