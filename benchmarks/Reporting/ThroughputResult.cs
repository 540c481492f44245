using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Weaving.Benchmarks.Throughput;

namespace Weaving.Benchmarks.Reporting;

/// <summary>One variant at one W, as throughput: what the table, the chart and the custom columns show.</summary>
public sealed record ThroughputResult(string Variant, int W, int Events, double SecondsPerRun, double EventsPerSecond, double? BytesPerEvent)
{
    public static int WOf(BenchmarkCase benchmark) => Convert.ToInt32(benchmark.Parameters["W"]);

    public static string VariantOf(BenchmarkCase benchmark) => benchmark.Descriptor.WorkloadMethod.Name;

    /// <summary>Null when the case has no result (it failed, or did not run).</summary>
    public static ThroughputResult? Of(Summary summary, BenchmarkCase benchmark)
    {
        var report = summary[benchmark];
        if (report?.ResultStatistics is not { } statistics) return null;
        var variant = VariantOf(benchmark);
        var w = WOf(benchmark);
        var events = ThroughputBenchmarks.EventsOf(variant, w);
        var seconds = statistics.Median / 1e9;
        // The woven broker run is a source process: its fixed cost, measured with no events, is not the pipeline's.
        if (variant == nameof(ThroughputBenchmarks.WovenRabbitMq) && WovenRabbitMqDeployment.FixedSecondsFor(w) is { } fixedSeconds)
            seconds = Math.Max(seconds - fixedSeconds, 1e-9);
        var bytes = report.GcStats.GetBytesAllocatedPerOperation(benchmark);
        // A broker run's allocations are mostly in other processes: not comparable, not shown.
        double? bytesPerEvent = variant.Contains("RabbitMq", StringComparison.Ordinal) || bytes is null ? null : (double)bytes / events;
        return new ThroughputResult(variant, w, events, seconds, events / seconds, bytesPerEvent);
    }

    public static IReadOnlyList<ThroughputResult> All(Summary summary) =>
        summary.BenchmarksCases.Select(b => Of(summary, b)).OfType<ThroughputResult>().ToList();
}
