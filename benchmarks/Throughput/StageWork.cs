namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// The CPU work of one stage, the same code as <c>Program.Work</c> in TestAssemblies/Pipeline3, for the hand-written
/// variants. W microseconds become a number of iterations, calibrated once per process.
/// </summary>
public static class StageWork
{
    public static ulong Run(ulong value, int iterations)
    {
        var x = value + 0x9E37_79B9_7F4A_7C15UL;
        for (var i = 0; i < iterations; i++)
            x = (x ^ (x >> 29)) * 0xBF58_476D_1CE4_E5B9UL + (ulong)i;
        return x;
    }

    /// <summary>Iterations of <see cref="Run"/> per microsecond on this machine: the best of a few timed runs.</summary>
    public static double IterationsPerMicrosecond => calibration.Value;

    static readonly Lazy<double> calibration = new(() =>
    {
        const int iterations = 2_000_000;
        var best = double.MaxValue;
        ulong sink = 0;
        for (var round = 0; round < 7; round++)
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            sink += Run((ulong)round, iterations);
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            best = Math.Min(best, elapsed);
        }
        GC.KeepAlive(sink);
        return iterations / best;
    });

    /// <summary>The iterations that take about <paramref name="microseconds"/> µs.</summary>
    public static int IterationsFor(double microseconds) => (int)Math.Round(microseconds * IterationsPerMicrosecond);

    /// <summary>How the last stage folds an event into its checksum: the same as <c>Program.Aggregate</c>.</summary>
    public static ulong Fold(ulong checksum, long id, ulong value, int iterations) =>
        checksum * 31 + (Run(value, iterations) ^ (ulong)id);
}
