using BenchmarkDotNet.Attributes;

namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// Pipeline3 (three balanced stages of W µs each, the last folding into owned state) in five variants, and the machine's ceiling. One invocation
/// processes a whole run of events; the Events/s and "vs Unwoven" columns turn the time into throughput
/// (see <see cref="Workload"/> for the event counts). The broker variants need RabbitMQ (see <see cref="BenchmarkBroker"/>).
/// </summary>
public class ThroughputBenchmarks
{
    [Params(0, 20, 100)]
    public int W { get; set; }

    int work;
    WovenRabbitMqDeployment? deployment;
    RawRabbitMqPipeline? raw;

    public static string BrokerUri => BenchmarkBroker.Uri;

    /// <summary>Events per invocation of a benchmark method: what the throughput columns divide by.</summary>
    public static int EventsOf(string method, int w) =>
        method.Contains("RabbitMq", StringComparison.Ordinal) ? Workload.EventsThroughBroker(w) : Workload.EventsInMemory(w);

    int Events([System.Runtime.CompilerServices.CallerMemberName] string method = "") => EventsOf(method, W);

    [GlobalSetup(Targets = [nameof(Unwoven), nameof(WovenInMemory), nameof(HandWrittenChannels), nameof(IndependentThreads)])]
    public void SetupInMemory()
    {
        work = StageWork.IterationsFor(W);
        Validation.CheckInMemory(work);
    }

    [GlobalSetup(Target = nameof(WovenRabbitMq))]
    public void SetupWovenRabbitMq()
    {
        work = StageWork.IterationsFor(W);
        // Fresh group hosts: their state starts empty, so the first run's report is the unwoven program's.
        deployment = WovenRabbitMqDeployment.Start(BrokerUri);
        try
        {
            WovenRabbitMqDeployment.Record(W, deployment.FixedSeconds);
            deployment.RunSource(200, work);
            Validation.Check("WovenRabbitMq", deployment.Report(200), Validation.Expected(200, work));
        }
        catch
        {
            // BenchmarkDotNet does not clean up after a failed setup: the group hosts must not outlive it.
            CleanupWovenRabbitMq();
            throw;
        }
    }

    [GlobalSetup(Target = nameof(RawRabbitMqClient))]
    public void SetupRawRabbitMqClient()
    {
        work = StageWork.IterationsFor(W);
        raw = RawRabbitMqPipeline.StartAsync(BrokerUri, work).GetAwaiter().GetResult();
        try
        {
            var checksum = raw.RunAsync(200).GetAwaiter().GetResult();
            Validation.Check("RawRabbitMqClient", $"200 events aggregated, checksum {checksum:x16}", Validation.Expected(200, work));
        }
        catch
        {
            CleanupRawRabbitMqClient();
            throw;
        }
    }

    [GlobalCleanup(Target = nameof(WovenRabbitMq))]
    public void CleanupWovenRabbitMq()
    {
        deployment?.Dispose();
        deployment = null;
    }

    [GlobalCleanup(Target = nameof(RawRabbitMqClient))]
    public void CleanupRawRabbitMqClient()
    {
        raw?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        raw = null;
    }

    /// <summary>The ordinary build: one thread, every continuation a plain call.</summary>
    [Benchmark]
    public void Unwoven() => Pipeline3Build.Unwoven.Run(Events(), work, captureOutput: false);

    /// <summary>The woven build with its default, in-memory transport.</summary>
    [Benchmark]
    public void WovenInMemory() => Pipeline3Build.Woven.Run(Events(), work, captureOutput: false);

    /// <summary>The floor for the in-memory runtime.</summary>
    [Benchmark]
    public ulong HandWrittenChannels() => Throughput.HandWrittenChannels.Run(Events(), work);

    /// <summary>The machine's ceiling for three stages in memory: their work on three threads that never hand over.</summary>
    [Benchmark]
    public ulong IndependentThreads() => Throughput.IndependentThreads.Run(Events(), work);

    /// <summary>The woven build, one Runtime.Host per group, through RabbitMQ.</summary>
    [Benchmark]
    public double WovenRabbitMq() => deployment!.RunSource(Events(), work);

    /// <summary>The floor for the distributed runtime.</summary>
    [Benchmark]
    public ulong RawRabbitMqClient() => raw!.RunAsync(Events()).GetAwaiter().GetResult();
}
