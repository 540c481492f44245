using System.Diagnostics;
using Weaving.Benchmarks.Throughput;

namespace Weaving.Benchmarks;

/// <summary>
/// <c>--probe [variant] [W] [runs]</c>: a few timed runs with a stopwatch, no statistics: the quick loop for working on
/// the runtime. The figures to quote come from the BenchmarkDotNet runs.
/// </summary>
public static class Probe
{
    public static void Run(string[] args)
    {
        var variants = args.Length > 0 && args[0] != "all" ? args[0].Split(',') : ["Unwoven", "WovenInMemory", "HandWrittenChannels"];
        var microseconds = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : Workload.Microseconds;
        var runs = args.Length > 2 ? int.Parse(args[2]) : 5;
        Console.WriteLine($"calibration: {StageWork.IterationsPerMicrosecond:F1} iterations/µs");
        foreach (var w in microseconds)
        {
            var work = StageWork.IterationsFor(w);
            var events = Workload.EventsInMemory(w);
            var runners = variants.Select(v => (Name: v, Run: Runner(v, events, work))).ToList();
            var rates = runners.ToDictionary(r => r.Name, _ => new List<double>());
            var bytes = runners.ToDictionary(r => r.Name, _ => 0.0);
            var cpu = runners.ToDictionary(r => r.Name, _ => 0.0);
            foreach (var r in runners) r.Run();
            // Rounds interleave the variants, so that a burst of load on a shared machine hits them all alike.
            for (var round = 0; round < runs; round++)
                foreach (var (name, run) in runners)
                {
                    var allocated = GC.GetTotalAllocatedBytes(true);
                    var cpuBefore = CpuAccounting.SecondsOf(Environment.ProcessId) ?? 0;
                    var start = Stopwatch.GetTimestamp();
                    run();
                    cpu[name] += ((CpuAccounting.SecondsOf(Environment.ProcessId) ?? 0) - cpuBefore) * 1e9 / events / runs;
                    rates[name].Add(events / Stopwatch.GetElapsedTime(start).TotalSeconds);
                    bytes[name] += (GC.GetTotalAllocatedBytes(true) - allocated) / (double)events / runs;
                }
            if (rates.ContainsKey("WovenInMemory")) Console.WriteLine("  runtime: " + Pipeline3Build.Woven.RuntimeStatistics());
            var unwoven = rates.TryGetValue("Unwoven", out var u) ? Median(u) : (double?)null;
            foreach (var (name, _) in runners)
            {
                var sorted = rates[name].Order().ToList();
                var median = Median(sorted);
                Console.WriteLine($"W={w,3} {name,-20} {median,14:N0} ev/s (min {sorted[0],12:N0} max {sorted[^1],12:N0})" +
                                  $" {bytes[name],7:F1} B/event {cpu[name],9:F0} CPU ns/event" + (unwoven is { } x ? $"  {median / x,5:F3}x unwoven" : ""));
            }
        }
    }

    /// <summary>
    /// What checkpoints cost: Pipeline3 through the broker (its last group aggregates into owned state), its hosts with
    /// checkpoints and without (<c>Weaving:Checkpoints=false</c>), alternating, the median of each.
    /// </summary>
    public static void Checkpoints(string[] args)
    {
        var w = args.Length > 0 ? int.Parse(args[0]) : 0;
        var runs = args.Length > 1 ? int.Parse(args[1]) : 3;
        var work = StageWork.IterationsFor(w);
        var events = Workload.EventsThroughBroker(w);
        var seconds = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        for (var round = 0; round < runs; round++)
            foreach (var on in new[] { false, true })
            {
                using var deployment = WovenRabbitMqDeployment.Start(ThroughputBenchmarks.BrokerUri,
                    new Dictionary<string, string> { ["Weaving__Checkpoints"] = on ? "true" : "false" });
                deployment.RunSource(events / 10, work);
                var s = deployment.RunSource(events, work) - deployment.FixedSeconds;
                seconds[on].Add(s);
                Console.WriteLine($"W={w,3} {(on ? "with checkpoints   " : "without checkpoints")} {events / s,10:N0} ev/s");
            }
        var (with, without) = (Median(seconds[true]), Median(seconds[false]));
        Console.WriteLine($"W={w,3} checkpoints: {events / with:N0} ev/s against {events / without:N0} ev/s without: " +
                          $"time ratio {with / without:F2} (median of {runs} alternating runs of {events:N0} events)");
    }

    /// <summary><c>--probe broker [W,…] [runs] [raw|woven] [Raw… variant]</c>: the broker variants (or the raw ones, or the woven one, or the raw variants named, alone; RawFreshSource is the raw client with its source a fresh process per run, as the woven source is), with the CPU seconds
    /// per 1,000 events of each process involved.</summary>
    public static void Broker(string[] args)
    {
        var microseconds = args.Length > 0 ? args[0].Split(',').Select(int.Parse).ToArray() : Workload.Microseconds;
        var runs = args.Length > 1 ? int.Parse(args[1]) : 2;
        var broker = CpuAccounting.BrokerPid();
        foreach (var w in microseconds)
        {
            var work = StageWork.IterationsFor(w);
            var events = Workload.EventsThroughBroker(w);
            if (!args.Contains("raw"))
            using (var deployment = WovenRabbitMqDeployment.Start(ThroughputBenchmarks.BrokerUri))
            {
                deployment.RunSource(events / 10, work);
                for (var round = 0; round < runs; round++)
                {
                    var run = BrokerAccount.TimeWovenRun(deployment, events, work, broker);
                    var seconds = run.Seconds - deployment.FixedSeconds;
                    Console.WriteLine($"W={w,3} WovenRabbitMq     {events / seconds,10:N0} ev/s; CPU s per 1,000 events: broker {Per(run.Broker)}, " +
                                      $"group hosts {Per(run.Hosts)}, source {Per(run.Source)} (fixed {deployment.FixedSeconds:F2} s taken off)");
                }
            }
            if (!args.Contains("woven"))
            foreach (var (quorum, wovenShaped) in new[] { (false, false), (true, false), (true, true) })
            {
                var name = wovenShaped ? "RawQuorumWovenSized" : quorum ? "RawQuorumQueues  " : "RawRabbitMqClient";
                if (args.Any(a => a.StartsWith("Raw", StringComparison.Ordinal)) && !args.Contains(name.Trim())) continue;
                var raw = RawRabbitMqPipeline.StartAsync(ThroughputBenchmarks.BrokerUri, work, quorum, wovenShaped).GetAwaiter().GetResult();
                raw.RunAsync(events / 10).GetAwaiter().GetResult();
                for (var round = 0; round < runs; round++)
                {
                    var run = BrokerAccount.TimeRawRun(raw, events, broker);
                    Console.WriteLine($"W={w,3} {name} {events / run.Seconds,10:N0} ev/s; CPU s per 1,000 events: broker {Per(run.Broker)}, " +
                                      $"stages and source (one process) {Per(run.Source)}");
                }
                raw.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            if (!args.Contains("woven") && (!args.Any(a => a.StartsWith("Raw", StringComparison.Ordinal)) || args.Contains("RawFreshSource")))
            {
                // The raw client deployed as the woven one is: its stages kept running, its source a fresh process per run.
                var raw = RawRabbitMqPipeline.StartAsync(ThroughputBenchmarks.BrokerUri, work).GetAwaiter().GetResult();
                raw.RunFreshSource(events / 10, out _);
                var cpuBefore = CpuAccounting.ChildrenSeconds();
                var empty = Enumerable.Range(0, 3).Select(i => raw.RunFreshSource(0, out _)).Order().ToList();
                var (fixedSeconds, fixedCpu) = (empty[1], (CpuAccounting.ChildrenSeconds() - cpuBefore) / 3);
                for (var round = 0; round < runs; round++)
                {
                    var run = BrokerAccount.TimeFreshRawRun(raw, events, broker, fixedCpu, out var checksum);
                    Validation.Check("RawFreshSource", $"{events} events aggregated, checksum {checksum:x16}", Validation.Expected(events, work));
                    Console.WriteLine($"W={w,3} RawFreshSource    {events / (run.Seconds - fixedSeconds),10:N0} ev/s; CPU s per 1,000 events: broker {Per(run.Broker)}, " +
                                      $"stages {Per(run.Hosts)}, source {Per(run.Source)} (fixed {fixedSeconds:F2} s taken off)");
                }
                raw.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            string Per(double cpuSeconds) => (cpuSeconds * 1000 / events).ToString("F3");
        }
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    static Action Runner(string variant, int events, int work) => variant switch
    {
        "Unwoven" => () => Pipeline3Build.Unwoven.Run(events, work, captureOutput: false),
        "WovenInMemory" => () => Pipeline3Build.Woven.Run(events, work, captureOutput: false),
        "HandWrittenChannels" => () => HandWrittenChannels.Run(events, work),
        "MessagesOnly" => () => MessagesOnly.Run(events, work),
        "IndependentThreads" => () => IndependentThreads.Run(events, work),
        _ => throw new ArgumentException($"unknown variant {variant}"),
    };
}
