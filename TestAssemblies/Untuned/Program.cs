// An access-log analyser written in the style of docs/design.md §2, before and without any change to the weaver:
// lines -> entries -> per-status counts and per-path latencies -> a report at the end.
using System;
using System.Collections.Generic;
using System.Linq;

static class Program
{
    static readonly string[] Paths = { "/", "/login", "/cart", "/search", "/item", "/checkout" };
    static readonly Dictionary<int, int> statuses = new();
    static readonly Dictionary<string, List<int>> latencies = new();
    static int slow;
    static int lines;

    static void Main()
    {
        var random = new Random(2024);
        for (var i = 0; i < 20_000; i++)
        {
            var path = Paths[random.Next(Paths.Length)];
            var status = random.Next(100) < 92 ? 200 : random.Next(2) == 0 ? 404 : 500;
            OnLine($"10.0.{i % 7}.{i % 251} GET {path} {status} {5 + random.Next(400)}ms");
        }
        OnReport();
    }

    static void OnLine(string line)
    {
        var parts = line.Split(' ');
        var latency = int.Parse(parts[4].TrimEnd('m', 's'));
        OnEntry(parts[2], int.Parse(parts[3]), latency);
    }

    static void OnEntry(string path, int status, int latency)
    {
        OnStatus(status);
        if (status == 200) OnLatency(path, latency);
    }

    static void OnStatus(int status)
    {
        lines++;
        statuses[status] = statuses.TryGetValue(status, out var n) ? n + 1 : 1;
    }

    static void OnLatency(string path, int latency)
    {
        if (!latencies.TryGetValue(path, out var list)) latencies[path] = list = new List<int>();
        list.Add(latency);
        if (latency > 350) OnSlow(path);
    }

    static void OnSlow(string path) => slow++;

    static void OnReport()
    {
        Console.WriteLine($"{lines} lines, {slow} slow");
        foreach (var (status, count) in statuses.OrderBy(p => p.Key)) Console.WriteLine($"  {status}: {count}");
        foreach (var (path, list) in latencies.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            list.Sort();
            Console.WriteLine($"  {path,-10} n={list.Count,5} median={list[list.Count / 2],3}ms p95={list[list.Count * 95 / 100],3}ms");
        }
    }
}
