using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Matrix.Rooms.Host.Tests.Infrastructure;

/// <summary>
/// The engine's meter comes from the host's <see cref="IMeterFactory"/> (so a listener sees this host's measurements
/// only), and OpenTelemetry is wired only when an OTLP endpoint is configured.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class TelemetryTests(HostFixture host)
{
    [Fact]
    public async Task Room_commands_are_counted_on_the_hosts_own_meter()
    {
        var factory = host.Host.Services.GetRequiredService<IMeterFactory>();
        var measurements = new ConcurrentQueue<(long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // The scope is the factory that created the meter: another host's counter (other test collections run
            // meanwhile) is not this one.
            if (instrument is { Name: "matrix_rooms.room_commands", Meter.Name: MatrixRoomsMetrics.MeterName } && ReferenceEquals(instrument.Meter.Scope, factory))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            measurements.Enqueue((value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.Start();

        var (_, token) = await host.RegisterAsync();
        var room = await host.CreateRoomAsync(token);
        await host.SendMessageAsync(token, room, "counted");
        var (_, stranger) = await host.RegisterAsync();
        await host.SendAsync(HttpMethod.Put, $"/_matrix/client/v3/rooms/{HostFixture.Room(room)}/send/m.room.message/{Guid.NewGuid():N}",
            """{"msgtype":"m.text","body":"refused"}""", stranger);

        measurements.Should().Contain(m => m.Value == 1 && Equals(m.Tags["command"], "SendRoomEvent") && Equals(m.Tags["outcome"], "appended"));
        measurements.Should().Contain(m => Equals(m.Tags["command"], "SendRoomEvent") && Equals(m.Tags["outcome"], "M_FORBIDDEN"));
    }

    [Fact]
    public void Without_an_otlp_endpoint_no_opentelemetry_pipeline_is_built()
    {
        using var app = Build(new Dictionary<string, string?>());
        app.Services.GetService<TracerProvider>().Should().BeNull();
        app.Services.GetService<MeterProvider>().Should().BeNull();
        app.Services.GetServices<ILoggerProvider>().OfType<OpenTelemetryLoggerProvider>().Should().BeEmpty();
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT")]
    [InlineData("MatrixRooms:OtlpEndpoint")]
    public void An_otlp_endpoint_exports_traces_metrics_and_logs(string setting)
    {
        using var app = Build(new Dictionary<string, string?> { [setting] = "http://127.0.0.1:4317" });
        app.Services.GetService<TracerProvider>().Should().NotBeNull();
        app.Services.GetService<MeterProvider>().Should().NotBeNull();
        app.Services.GetServices<ILoggerProvider>().OfType<OpenTelemetryLoggerProvider>().Should().ContainSingle("UseOtlpExporter exports logs too");
    }

    private static WebApplication Build(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddMatrixRoomsTelemetry();
        return builder.Build();
    }
}
