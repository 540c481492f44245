namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// The sizes of a run. Events per run are chosen per variant and W so that one run takes long enough for the pipeline's
/// fill and drain to be noise (a few hundred milliseconds for the unwoven program in memory), and the broker runs
/// finish in seconds. Throughput is events per second, so variants with different counts still compare.
/// </summary>
public static class Workload
{
    public static readonly int[] Microseconds = [0, 20, 100];

    public static int EventsInMemory(int microseconds) => microseconds switch
    {
        0 => 1_000_000,
        _ => Math.Max(1_000, 60_000 / microseconds),
    };

    public static int EventsThroughBroker(int microseconds) => microseconds switch
    {
        0 => 20_000,
        _ => Math.Max(1_000, 20_000 / Math.Max(1, microseconds / 10)),
    };
}
