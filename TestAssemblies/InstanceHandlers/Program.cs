// Handlers as C# programmers write them: methods of objects with their own state, held by static fields that their
// type initializers set. Each object's fields are its own state: the detector's and the ledger's run apart.
using System;
using System.Collections.Generic;

sealed class Detector
{
    readonly Queue<double> window = new();
    double sum;
    int readings;

    public void OnReading(string sensor, double value)
    {
        readings++;
        window.Enqueue(value);
        sum += value;
        if (window.Count > 5) sum -= window.Dequeue();
        var mean = sum / window.Count;
        if (Outside(value, mean)) Program.Ledger.OnAnomaly(sensor, readings, value - mean);
    }

    bool Outside(double value, double mean) => Math.Abs(value - mean) > 4.0;

    public int Readings => readings;
}

sealed class Ledger
{
    readonly List<string> entries = new();
    readonly Dictionary<string, int> bySensor = new();

    public void OnAnomaly(string sensor, int reading, double deviation)
    {
        bySensor[sensor] = bySensor.GetValueOrDefault(sensor) + 1;
        entries.Add($"{sensor} #{reading}: {deviation:+0.00;-0.00}");
    }

    public void Print()
    {
        foreach (var entry in entries) Console.WriteLine(entry);
        foreach (var (sensor, count) in bySensor) Console.WriteLine($"{sensor}: {count} anomalies");
    }
}

static class Program
{
    static readonly Detector detector = new();
    internal static readonly Ledger Ledger = new();

    static void Main()
    {
        var random = new Random(7);
        for (var i = 0; i < 3000; i++)
        {
            var sensor = "s" + (i % 3);
            var value = 20 + random.NextDouble() * 4 + (i % 97 == 0 ? 15 : 0);
            detector.OnReading(sensor, value);
        }
        Console.WriteLine($"{detector.Readings} readings");
        Ledger.Print();
    }
}
