// A sensor gateway, written the way I would write one today: top-level statements, an async loop reading the feed,
// async handlers, a detector object with its own state, and an event for its alerts.
using System.Globalization;

const string Feed = """
    2026-11-30T08:00:00;boiler;71.2
    2026-11-30T08:00:01;pump-a;3.10
    2026-11-30T08:00:02;pump-b;2.95
    2026-11-30T08:00:03;boiler;71.9
    garbage line
    2026-11-30T08:00:04;pump-a;3.12
    """;

var detector = new SpikeDetector(windowSize: 8, tolerance: 3.0);
var alerts = new AlertLog();
detector.SpikeDetected += alerts.OnSpike;
detector.SpikeDetected += (_, spike) => Console.WriteLine($"ALERT {spike.Sensor} {spike.Value:0.00} (expected {spike.Expected:0.00})");

using var reader = new StringReader(Feed + Synthetic.Lines(6000));
var lineNumber = 0;
while (await reader.ReadLineAsync() is { } line)
{
    lineNumber++;
    await Gateway.OnLineAsync(lineNumber, line, detector);
}

Console.WriteLine($"lines: {lineNumber}, rejected: {Gateway.Rejected}");
Console.WriteLine($"sensors: {detector.SensorCount}, readings: {detector.Readings}");
Console.WriteLine($"alerts: {alerts.Count} ({alerts.Summary()})");

record Reading(DateTime At, string Sensor, double Value);

record Spike(string Sensor, DateTime At, double Value, double Expected);

sealed class SpikeEventArgs(Spike spike) : EventArgs
{
    public Spike Spike { get; } = spike;
}

static class Gateway
{
    public static int Rejected { get; private set; }

    public static async Task OnLineAsync(int number, string line, SpikeDetector detector)
    {
        var parts = line.Split(';');
        if (parts.Length != 3
            || !DateTime.TryParse(parts[0], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
            || !double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            Rejected++;
            return;
        }
        await Task.Yield(); // stands in for enrichment from a device registry
        detector.OnReading(new Reading(at, parts[1].Trim(), value));
    }
}

sealed class SpikeDetector(int windowSize, double tolerance)
{
    readonly Dictionary<string, Queue<double>> windows = new();

    public event EventHandler<Spike>? SpikeDetected;

    public int Readings { get; private set; }

    public int SensorCount => windows.Count;

    public void OnReading(Reading reading)
    {
        Readings++;
        if (!windows.TryGetValue(reading.Sensor, out var window))
            windows[reading.Sensor] = window = new Queue<double>();
        if (window.Count == windowSize)
        {
            var mean = window.Average();
            var spread = Math.Sqrt(window.Sum(v => (v - mean) * (v - mean)) / window.Count);
            if (Math.Abs(reading.Value - mean) > tolerance * Math.Max(spread, 0.05))
                SpikeDetected?.Invoke(this, new Spike(reading.Sensor, reading.At, reading.Value, mean));
            window.Dequeue();
        }
        window.Enqueue(reading.Value);
    }
}

sealed class AlertLog
{
    readonly List<Spike> spikes = new();

    public int Count => spikes.Count;

    public void OnSpike(object? sender, Spike spike) => spikes.Add(spike);

    public string Summary() =>
        string.Join(", ", spikes.GroupBy(s => s.Sensor).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}"));
}

static class Synthetic
{
    public static string Lines(int count)
    {
        var random = new Random(42);
        var builder = new System.Text.StringBuilder();
        var start = new DateTime(2026, 11, 30, 9, 0, 0, DateTimeKind.Utc);
        string[] sensors = ["boiler", "pump-a", "pump-b", "fan"];
        for (var i = 0; i < count; i++)
        {
            var sensor = sensors[i % sensors.Length];
            var baseline = sensor switch { "boiler" => 72.0, "fan" => 1200.0, _ => 3.0 };
            var value = baseline * (1 + (random.NextDouble() - 0.5) * 0.01) * (i % 997 == 0 ? 1.2 : 1.0);
            builder.Append(start.AddSeconds(i).ToString("s", CultureInfo.InvariantCulture)).Append(';').Append(sensor).Append(';')
                .Append(value.ToString("0.000", CultureInfo.InvariantCulture)).Append('\n');
        }
        return builder.ToString();
    }
}
