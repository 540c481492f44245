using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Weaving.Host.Hosting;

/// <summary>
/// OpenTelemetry for the host: the meter and the activity source <c>Weaving</c> (<see cref="HostMetrics"/>), exported
/// over OTLP when configuration names an endpoint (<c>Weaving:Otlp</c>, or the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// with the other <c>OTEL_*</c> variables). Without one, nothing is wired: no span is made, nothing is exported.
/// </summary>
public static class Telemetry
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>True when an exporter was configured.</summary>
    public static bool AddWhenConfigured(IServiceCollection services, IConfiguration configuration, WeavingOptions options, WovenApp app)
    {
        var endpoint = !string.IsNullOrWhiteSpace(options.Otlp) ? options.Otlp : null;
        if (endpoint is null && string.IsNullOrWhiteSpace(configuration[EndpointVariable])) return false;

        var builder = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName: "weaving-host", serviceNamespace: "weaving")
                .AddAttributes([new("weaving.app", app.Name), new("weaving.stage", options.Stage ?? "")]))
            .WithMetrics(m => m.AddMeter(HostMetrics.Name))
            .WithTracing(t => t.AddSource(HostMetrics.Name));
        if (endpoint is null)
            builder.UseOtlpExporter();  // OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS as the specification says
        else if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
            throw new Startup.HostUsageException($"bad setting: Weaving:Otlp must be an absolute URI such as http://localhost:4317, not '{endpoint}'.");
        else
            builder.UseOtlpExporter(OtlpExportProtocol.Grpc, uri);
        return true;
    }
}
