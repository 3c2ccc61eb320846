using System.Diagnostics.Metrics;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Rooms;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Matrix.Rooms.Host.Infrastructure;

/// <summary>
/// OpenTelemetry traces, metrics and logs: ASP.NET Core requests, Wolverine message handling, Marten, and the engine's
/// own <see cref="MatrixRoomsMetrics"/>, exported over OTLP (<c>UseOtlpExporter</c>). Nothing is exported — no
/// OpenTelemetry pipeline is even built — unless <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>MatrixRooms:OtlpEndpoint</c>)
/// names a collector, so the default costs next to nothing. Exported log lines pass the secret redaction like any other
/// (SecretRedaction decorates the logger factory every provider sits behind).
/// </summary>
public static class Telemetry
{
    public const string ServiceName = "Matrix.Rooms";

    public static WebApplicationBuilder AddMatrixRoomsTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<MatrixRoomsMetrics>();
        var standardEndpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var endpoint = string.IsNullOrWhiteSpace(standardEndpoint) ? builder.Configuration["MatrixRooms:OtlpEndpoint"] : standardEndpoint;
        if (string.IsNullOrWhiteSpace(endpoint)) return builder;

        var openTelemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(ServiceName))
            .WithTracing(t => t.AddAspNetCoreInstrumentation().AddSource("Wolverine", "Marten"))
            .WithMetrics(m => m.AddAspNetCoreInstrumentation().AddMeter(MatrixRoomsMetrics.MeterName, "Wolverine", "Marten"));
        if (!string.IsNullOrWhiteSpace(standardEndpoint))
            openTelemetry.UseOtlpExporter(); // reads the standard OTEL_EXPORTER_OTLP_* settings (protocol, headers, per-signal endpoints)
        else
            openTelemetry.UseOtlpExporter(
                builder.Configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc,
                new Uri(endpoint));
        return builder;
    }
}

/// <summary>
/// The engine's own instruments, on a meter from the host's <see cref="IMeterFactory"/>: its lifetime is the
/// container's, and a listener can tell one host's measurements from another's (the meter's scope is the factory).
/// </summary>
public sealed class MatrixRoomsMetrics
{
    public const string MeterName = Telemetry.ServiceName;

    private readonly Counter<long> _roomCommands;

    public MatrixRoomsMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _roomCommands = meter.CreateCounter<long>("matrix_rooms.room_commands", description: "Room commands decided");
    }

    /// <summary>A room command decided, tagged with the command and its outcome (<c>appended</c> or the refusal's errcode).</summary>
    public void RoomCommandDecided(RoomCommand command, MatrixError? refusal) =>
        _roomCommands.Add(1, new KeyValuePair<string, object?>("command", command.GetType().Name),
            new KeyValuePair<string, object?>("outcome", refusal?.ErrCode ?? "appended"));
}
