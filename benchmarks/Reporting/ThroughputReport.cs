using System.Globalization;
using System.Text;

namespace Weaving.Benchmarks.Reporting;

/// <summary>Writes results/table.md (events/s, ratios, the issue's targets met or not) and results/throughput.svg.</summary>
public static class ThroughputReport
{
    static readonly CultureInfo invariant = CultureInfo.InvariantCulture;

    /// <summary>Each variant and the hand-written floor it is held against.</summary>
    static readonly Dictionary<string, string> floors = new()
    {
        ["WovenInMemory"] = "HandWrittenChannels",
        ["WovenRabbitMq"] = "RawRabbitMqClient",
    };

    public static readonly string[] Variants = ["Unwoven", "WovenInMemory", "HandWrittenChannels", "IndependentThreads", "WovenRabbitMq", "RawRabbitMqClient"];

    public static void Write(IReadOnlyList<ThroughputResult> results, string directory, string command, IEnumerable<string> machine, IEnumerable<string> notes)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "table.md"), Table(results, command, machine, notes));
        File.WriteAllText(Path.Combine(directory, "throughput.svg"), ThroughputChart.Svg(results, Variants));
    }

    static ThroughputResult? Find(IReadOnlyList<ThroughputResult> results, string variant, int w) =>
        results.FirstOrDefault(r => r.Variant == variant && r.W == w);

    static double? Ratio(IReadOnlyList<ThroughputResult> results, string variant, string other, int w) =>
        Find(results, variant, w) is { } a && Find(results, other, w) is { } b ? a.EventsPerSecond / b.EventsPerSecond : null;

    public static string Table(IReadOnlyList<ThroughputResult> results, string command, IEnumerable<string> machine, IEnumerable<string> notes)
    {
        var text = new StringBuilder();
        text.AppendLine("# Pipeline3 throughput").AppendLine();
        text.AppendLine($"`{command}`, {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", invariant)} UTC. All ratios are from this one run.").AppendLine();
        foreach (var line in machine) text.AppendLine($"- {line}");
        foreach (var line in notes) text.AppendLine($"- {line}");
        text.AppendLine();
        text.AppendLine("| W (µs) | Variant | events/run | events/s | vs Unwoven | vs floor | B/event |");
        text.AppendLine("|---:|---|---:|---:|---:|---:|---:|");
        foreach (var w in results.Select(r => r.W).Distinct().Order())
            foreach (var variant in Variants)
            {
                if (Find(results, variant, w) is not { } r)
                {
                    text.AppendLine($"| {w} | {variant} | | not run | | | |");
                    continue;
                }
                var vsUnwoven = Ratio(results, variant, "Unwoven", w);
                var vsFloor = floors.TryGetValue(variant, out var floor) ? Ratio(results, variant, floor, w) : null;
                text.AppendLine($"| {w} | {variant} | {r.Events.ToString("N0", invariant)} | {r.EventsPerSecond.ToString("N0", invariant)} | " +
                                $"{Format(vsUnwoven)} | {(vsFloor is null ? "" : Format(vsFloor) + " of " + floor)} | " +
                                $"{r.BytesPerEvent?.ToString("F1", invariant) ?? ""} |");
            }
        text.AppendLine();
        text.AppendLine("## Targets").AppendLine();
        text.AppendLine("| target | measured | met |");
        text.AppendLine("|---|---:|---|");
        // Issue 10: never slower than unwoven where hops do not pay, and the parallel speed-up kept where they do.
        Target(text, "WovenInMemory >= 0.5x Unwoven at W = 0 (issue 10)", Ratio(results, "WovenInMemory", "Unwoven", 0), 0.5);
        Target(text, "WovenInMemory >= 1.85x Unwoven at W = 20 (issue 10)", Ratio(results, "WovenInMemory", "Unwoven", 20), 1.85);
        Target(text, "WovenInMemory >= 1.9x Unwoven at W = 100 (issue 10)", Ratio(results, "WovenInMemory", "Unwoven", 100), 1.9);
        foreach (var w in results.Select(r => r.W).Distinct().Order())
            Target(text, $"WovenInMemory >= 1.0x HandWrittenChannels at W = {w} (issue 10)", Ratio(results, "WovenInMemory", "HandWrittenChannels", w), 1.0);
        if (results.FirstOrDefault(r => r.Variant == "WovenInMemory" && r.W == 0)?.BytesPerEvent is { } inlineBytes)
            text.AppendLine($"| WovenInMemory allocates 0 B an event at W = 0, where every message runs inline (issue 10) | {inlineBytes.ToString("F1", invariant)} B | {(inlineBytes < 0.5 ? "yes" : "**no**")} |");
        foreach (var w in results.Select(r => r.W).Distinct().Order())
            Target(text, $"WovenRabbitMq >= 0.9x RawRabbitMqClient at W = {w} (issue 11; 0.8x issue 5)", Ratio(results, "WovenRabbitMq", "RawRabbitMqClient", w), 0.9);
        text.AppendLine();
        // Not a target: what no runtime of three stages can pass on this machine, and how close the woven one comes.
        text.AppendLine("The machine's ceiling (IndependentThreads: the three stages' work on three threads that never hand over):").AppendLine();
        text.AppendLine("| W (µs) | ceiling, vs Unwoven | WovenInMemory, vs the ceiling |");
        text.AppendLine("|---:|---:|---:|");
        foreach (var w in results.Select(r => r.W).Distinct().Order())
            if (Ratio(results, "IndependentThreads", "Unwoven", w) is { } ceiling)
                text.AppendLine($"| {w} | {Format(ceiling)} | {Format(Ratio(results, "WovenInMemory", "IndependentThreads", w))} |");
        text.AppendLine();
        text.AppendLine("![events per second against W](throughput.svg)");
        return text.ToString();
    }

    static string Format(double? ratio) => ratio is { } r ? r.ToString(r < 0.1 ? "F3" : "F2", invariant) + "x" : "";

    static void Target(StringBuilder text, string name, double? measured, double bound) =>
        text.AppendLine($"| {name} | {(measured is null ? "not run" : Format(measured))} | {(measured is null ? "" : measured >= bound ? "yes" : "**no**")} |");
}
