using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Weaving.Benchmarks.Reporting;

/// <summary>Events per second, the ratio to Unwoven at the same W, and bytes allocated per event, in BenchmarkDotNet's own table.</summary>
public sealed class ThroughputColumn(string name, string legend, Func<ThroughputResult, Summary, string> value) : IColumn
{
    public static readonly IColumn[] All =
    [
        new ThroughputColumn("Events/s", "Events processed per second (median run)", (r, _) => r.EventsPerSecond.ToString("N0")),
        new ThroughputColumn("vs Unwoven", "Events/s divided by Unwoven's at the same W", (r, s) =>
            Unwoven(s, r.W) is { } u ? (r.EventsPerSecond / u.EventsPerSecond).ToString("F2") + "x" : "-"),
        new ThroughputColumn("B/event", "Bytes allocated in this process per event", (r, _) => r.BytesPerEvent?.ToString("F1") ?? "-"),
    ];

    static ThroughputResult? Unwoven(Summary summary, int w) =>
        summary.BenchmarksCases.Where(b => ThroughputResult.VariantOf(b) == "Unwoven" && ThroughputResult.WOf(b) == w)
            .Select(b => ThroughputResult.Of(summary, b)).FirstOrDefault(r => r is not null);

    public string Id => nameof(ThroughputColumn) + ColumnName;
    public string ColumnName => name;
    public string Legend => legend;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        ThroughputResult.Of(summary, benchmarkCase) is { } result ? value(result, summary) : "-";
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public override string ToString() => ColumnName;
}
