using System.Globalization;
using System.Text;

namespace Weaving.Benchmarks.Reporting;

/// <summary>
/// Events per second against W, one line per variant, as a self-contained SVG. The y axis is logarithmic: at W = 0 the
/// unwoven program is a few nanoseconds an event and a broker hop a few hundred microseconds.
/// </summary>
public static class ThroughputChart
{
    const int Width = 760, Height = 460, Left = 80, Right = 200, Top = 40, Bottom = 60;
    static readonly string[] colors = ["#444444", "#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd"];
    static readonly CultureInfo invariant = CultureInfo.InvariantCulture;

    public static string Svg(IReadOnlyList<ThroughputResult> results, IReadOnlyList<string> variants)
    {
        var ws = results.Select(r => r.W).Distinct().Order().ToList();
        var svg = new StringBuilder();
        svg.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        svg.AppendLine($"<text x=\"{Left}\" y=\"24\" font-size=\"15\" font-weight=\"bold\">Pipeline3: events per second against W (µs of work per stage)</text>");
        if (results.Count == 0 || ws.Count == 0)
            return svg.AppendLine("<text x=\"80\" y=\"100\">no results</text></svg>").ToString();

        var low = Math.Floor(Math.Log10(results.Min(r => r.EventsPerSecond)));
        var high = Math.Ceiling(Math.Log10(results.Max(r => r.EventsPerSecond)));
        if (high <= low) high = low + 1;
        double X(int i) => Left + (ws.Count == 1 ? 0.5 : i / (double)(ws.Count - 1)) * (Width - Left - Right);
        double Y(double value) => Top + (high - Math.Log10(value)) / (high - low) * (Height - Top - Bottom);

        for (var decade = low; decade <= high; decade++)
        {
            var y = Y(Math.Pow(10, decade));
            svg.AppendLine($"<line x1=\"{Left}\" y1=\"{F(y)}\" x2=\"{Width - Right}\" y2=\"{F(y)}\" stroke=\"#dddddd\"/>");
            svg.AppendLine($"<text x=\"{Left - 8}\" y=\"{F(y + 4)}\" text-anchor=\"end\">1e{decade.ToString(invariant)}</text>");
        }
        for (var i = 0; i < ws.Count; i++)
        {
            svg.AppendLine($"<line x1=\"{F(X(i))}\" y1=\"{Top}\" x2=\"{F(X(i))}\" y2=\"{Height - Bottom}\" stroke=\"#eeeeee\"/>");
            svg.AppendLine($"<text x=\"{F(X(i))}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">W = {ws[i]}</text>");
        }
        svg.AppendLine($"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 14}\" text-anchor=\"middle\">CPU work per stage per event (µs)</text>");
        svg.AppendLine($"<text x=\"18\" y=\"{(Top + Height - Bottom) / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {(Top + Height - Bottom) / 2})\">events per second (log scale)</text>");
        svg.AppendLine($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{Width - Left - Right}\" height=\"{Height - Top - Bottom}\" fill=\"none\" stroke=\"#888888\"/>");

        var legendY = Top + 10;
        for (var v = 0; v < variants.Count; v++)
        {
            var points = ws.Select((w, i) => (i, r: results.FirstOrDefault(r => r.Variant == variants[v] && r.W == w)))
                .Where(p => p.r is not null).Select(p => (X: X(p.i), Y: Y(p.r!.EventsPerSecond))).ToList();
            if (points.Count == 0) continue;
            var color = colors[v % colors.Length];
            var dash = variants[v].Contains("RabbitMq", StringComparison.Ordinal) ? " stroke-dasharray=\"6 4\"" : "";
            svg.AppendLine($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} points=\"{string.Join(' ', points.Select(p => F(p.X) + "," + F(p.Y)))}\"/>");
            foreach (var p in points)
                svg.AppendLine($"<circle cx=\"{F(p.X)}\" cy=\"{F(p.Y)}\" r=\"4\" fill=\"{color}\"/>");
            svg.AppendLine($"<line x1=\"{Width - Right + 16}\" y1=\"{legendY}\" x2=\"{Width - Right + 40}\" y2=\"{legendY}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>");
            svg.AppendLine($"<text x=\"{Width - Right + 46}\" y=\"{legendY + 4}\">{variants[v]}</text>");
            legendY += 20;
        }
        return svg.AppendLine("</svg>").ToString();
    }

    static string F(double value) => value.ToString("F1", invariant);
}
