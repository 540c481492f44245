using System.Diagnostics;

namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// What one event costs through the broker, for the woven deployment and the raw client alike (issue 11's second
/// target): the CPU of every process involved, the broker's included, and the bytes on the wire. Measured after the
/// BenchmarkDotNet runs, with its own warm runs: a few runs of each, medians.
/// </summary>
/// <param name="BrokerMs">the broker's CPU per event, in milliseconds (CPU seconds per 1,000 events)</param>
/// <param name="ProcessesMs">the processes' (group hosts and source, or the raw client's one process), the source's fixed
/// start-up CPU (a run of no events) taken off</param>
/// <param name="BytesPerMessage">bytes through the loopback interface per stage message (three an event), TCP/IP
/// headers, acknowledgements, confirms and (woven) reports, owner records and checkpoints included</param>
public sealed record BrokerAccount(string Variant, int W, double BrokerMs, double ProcessesMs, double BytesPerMessage)
{
    public double TotalMs => BrokerMs + ProcessesMs;

    const int MessagesPerEvent = 3;

    /// <summary>Both broker variants at each W, <paramref name="runs"/> timed runs each after a warm one.</summary>
    public static List<BrokerAccount> Measure(IEnumerable<int> microseconds, int runs)
    {
        var broker = CpuAccounting.BrokerPid();
        var accounts = new List<BrokerAccount>();
        foreach (var w in microseconds)
        {
            var work = StageWork.IterationsFor(w);
            var events = Workload.EventsThroughBroker(w);
            using (var deployment = WovenRabbitMqDeployment.Start(BenchmarkBroker.Uri))
            {
                var before = CpuAccounting.ChildrenSeconds();
                deployment.RunSource(0, work);
                var sourceFixed = CpuAccounting.ChildrenSeconds() - before;
                // A whole run first: fresh hosts compile their hot paths during it.
                deployment.RunSource(events, work);
                accounts.Add(Median("WovenRabbitMq", w, events, runs, () => TimeWovenRun(deployment, events, work, broker, sourceFixed)));
            }
            var raw = RawRabbitMqPipeline.StartAsync(BenchmarkBroker.Uri, work).GetAwaiter().GetResult();
            try
            {
                raw.RunAsync(events).GetAwaiter().GetResult();
                accounts.Add(Median("RawRabbitMqClient", w, events, runs, () => TimeRawRun(raw, events, broker)));
            }
            finally
            {
                raw.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        return accounts;
    }

    /// <summary>What one timed run cost: its wall time, the CPU seconds of the broker, the group hosts (none for the raw
    /// client) and the source (the raw client's one process), and the bytes through the loopback interface.</summary>
    public readonly record struct RunCost(double Seconds, double Broker, double Hosts, double Source, long Bytes);

    /// <summary>A source run of the woven deployment; <paramref name="sourceFixedCpu"/>, what a run of no events costs the
    /// source, is taken off its CPU.</summary>
    public static RunCost TimeWovenRun(WovenRabbitMqDeployment deployment, int events, int work, int? broker, double sourceFixedCpu = 0)
    {
        var (b, hosts, source, wire) = (Cpu(broker), deployment.GroupHostsCpuSeconds(), CpuAccounting.ChildrenSeconds(), LoopbackBytes());
        var seconds = deployment.RunSource(events, work);
        return new RunCost(seconds, Cpu(broker) - b, deployment.GroupHostsCpuSeconds() - hosts,
            Math.Max(0, CpuAccounting.ChildrenSeconds() - source - sourceFixedCpu), LoopbackBytes() - wire);
    }

    /// <summary>A run of the raw client's pipeline, in this process.</summary>
    public static RunCost TimeRawRun(RawRabbitMqPipeline raw, int events, int? broker)
    {
        var (b, self, wire) = (Cpu(broker), CpuAccounting.SecondsOf(Environment.ProcessId) ?? 0, LoopbackBytes());
        var start = Stopwatch.GetTimestamp();
        raw.RunAsync(events).GetAwaiter().GetResult();
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new RunCost(seconds, Cpu(broker) - b, 0, (CpuAccounting.SecondsOf(Environment.ProcessId) ?? 0) - self, LoopbackBytes() - wire);
    }

    /// <summary>A run of the raw client's pipeline with its source a fresh process (<see cref="RawRabbitMqPipeline.RunFreshSource"/>):
    /// its stages' CPU (this process) as the hosts', the source's as the source's, <paramref name="sourceFixedCpu"/> (a run
    /// of no events) taken off it.</summary>
    public static RunCost TimeFreshRawRun(RawRabbitMqPipeline raw, int events, int? broker, double sourceFixedCpu, out ulong checksum)
    {
        var (b, self, source, wire) = (Cpu(broker), Cpu(Environment.ProcessId), CpuAccounting.ChildrenSeconds(), LoopbackBytes());
        var seconds = raw.RunFreshSource(events, out checksum);
        return new RunCost(seconds, Cpu(broker) - b, Cpu(Environment.ProcessId) - self,
            Math.Max(0, CpuAccounting.ChildrenSeconds() - source - sourceFixedCpu), LoopbackBytes() - wire);
    }

    static BrokerAccount Median(string variant, int w, int events, int runs, Func<RunCost> run)
    {
        var samples = Enumerable.Range(0, runs).Select(_ => run()).ToList();
        double MedianOf(Func<RunCost, double> f) => samples.Select(f).Order().ElementAt(samples.Count / 2);
        return new BrokerAccount(variant, w,
            MedianOf(s => s.Broker) * 1000 / events,
            MedianOf(s => s.Hosts + s.Source) * 1000 / events,
            MedianOf(s => s.Bytes) / ((double)events * MessagesPerEvent));
    }

    /// <summary>CPU seconds of <paramref name="pid"/> so far, 0 when there is none.</summary>
    public static double Cpu(int? pid) => pid is { } p ? CpuAccounting.SecondsOf(p) ?? 0 : 0;

    // Every byte between the clients and a local broker crosses the loopback interface once: its received count.
    static long LoopbackBytes()
    {
        try { return long.Parse(File.ReadAllText("/sys/class/net/lo/statistics/rx_bytes").Trim()); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return 0; }
    }
}
