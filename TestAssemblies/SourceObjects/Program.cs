// Objects Main makes and keeps in locals, the way most programs hold them: a meter configured from the command line
// (made by Main, so a group's host gets it from Main), and a tally; an async Main keeps both across its awaits.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;

sealed class Meter
{
    readonly double scale;
    readonly List<double> samples = new();
    double peak;

    public Meter(double scale) => this.scale = scale;

    public void OnSample(int channel, double raw)
    {
        var value = raw * scale;
        samples.Add(value);
        if (value > peak) peak = value;
        if (samples.Count % 500 == 0) Program.OnSummary(channel, samples.Count, peak);
    }

    public double Peak => peak;
}

sealed class Tally
{
    readonly Dictionary<int, int> perChannel = new();

    public void OnChannel(int channel) => perChannel[channel] = perChannel.GetValueOrDefault(channel) + 1;

    public string Describe() => string.Join(", ", perChannel.Select(p => $"{p.Key}={p.Value}"));
}

static class Program
{
    static readonly List<string> summaries = new();

    static async Task Main(string[] args)
    {
        var scale = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1.5;
        var meter = new Meter(scale);
        var tally = new Tally();
        var random = new Random(3);
        for (var i = 0; i < 3000; i++)
        {
            if (i % 1000 == 0) await Task.Yield();
            var channel = i % 4;
            meter.OnSample(channel, random.NextDouble() * 10);
            tally.OnChannel(channel);
        }
        Console.WriteLine($"peak {meter.Peak:0.000}");
        Console.WriteLine("per channel: " + tally.Describe());
        foreach (var s in summaries) Console.WriteLine(s);
    }

    internal static void OnSummary(int channel, int count, double peak) => summaries.Add($"{count} samples, peak {peak:0.000} (channel {channel})");
}
