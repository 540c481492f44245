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
                accounts.Add(Median("WovenRabbitMq", w, events, runs, () =>
                {
                    var (b, hosts, source, wire) = (Cpu(broker), deployment.GroupHostsCpuSeconds(), CpuAccounting.ChildrenSeconds(), LoopbackBytes());
                    deployment.RunSource(events, work);
                    return (Cpu(broker) - b, deployment.GroupHostsCpuSeconds() - hosts + Math.Max(0, CpuAccounting.ChildrenSeconds() - source - sourceFixed),
                        LoopbackBytes() - wire);
                }));
            }
            var raw = RawRabbitMqPipeline.StartAsync(BenchmarkBroker.Uri, work).GetAwaiter().GetResult();
            try
            {
                raw.RunAsync(events).GetAwaiter().GetResult();
                accounts.Add(Median("RawRabbitMqClient", w, events, runs, () =>
                {
                    var (b, self, wire) = (Cpu(broker), CpuAccounting.SecondsOf(Environment.ProcessId) ?? 0, LoopbackBytes());
                    raw.RunAsync(events).GetAwaiter().GetResult();
                    return (Cpu(broker) - b, (CpuAccounting.SecondsOf(Environment.ProcessId) ?? 0) - self, LoopbackBytes() - wire);
                }));
            }
            finally
            {
                raw.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        return accounts;
    }

    static BrokerAccount Median(string variant, int w, int events, int runs, Func<(double Broker, double Processes, long Bytes)> run)
    {
        var samples = Enumerable.Range(0, runs).Select(_ => run()).ToList();
        double MedianOf(Func<(double Broker, double Processes, long Bytes), double> f) => samples.Select(f).Order().ElementAt(samples.Count / 2);
        return new BrokerAccount(variant, w,
            MedianOf(s => s.Broker) * 1000 / events,
            MedianOf(s => s.Processes) * 1000 / events,
            MedianOf(s => s.Bytes) / ((double)events * MessagesPerEvent));
    }

    static double Cpu(int? pid) => pid is { } p ? CpuAccounting.SecondsOf(p) ?? 0 : 0;

    // Every byte between the clients and a local broker crosses the loopback interface once: its received count.
    static long LoopbackBytes()
    {
        try { return long.Parse(File.ReadAllText("/sys/class/net/lo/statistics/rx_bytes").Trim()); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return 0; }
    }
}
