// A balanced three-stage event loop: every event goes Parse -> Enrich -> Aggregate, each stage spends the same CPU work
// on it, and Aggregate folds the result into state of its own. The benchmarks run it woven and unwoven.
//
// Arguments: [events] [work], work being the iterations of the CPU loop that each stage runs per event (the benchmark
// calibrates iterations per microsecond once and passes a count, so that the output is the same on every machine).
// The checksum depends on the order in which Aggregate sees the events: woven and unwoven must print the same line.
using System;

static class Program
{
    // Owned by the last stage (and OnEnd, which reports it): one group, no other stage touches them.
    static ulong checksum;
    static long aggregated;

    static int Main(string[] args)
    {
        var events = args.Length > 0 ? int.Parse(args[0]) : 2000;
        var work = args.Length > 1 ? int.Parse(args[1]) : 50;
        for (var i = 0; i < events; i++)
            Parse(i, work);
        OnEnd();
        return 0;
    }

    static void Parse(long id, int work) => Enrich(id, Work((ulong)id, work), work);

    static void Enrich(long id, ulong value, int work) => Aggregate(id, Work(value, work), work);

    static void Aggregate(long id, ulong value, int work)
    {
        checksum = checksum * 31 + (Work(value, work) ^ (ulong)id);
        aggregated++;
    }

    static void OnEnd() => Console.WriteLine($"{aggregated} events aggregated, checksum {checksum:x16}");

    /// <summary>The CPU work of one stage: <paramref name="iterations"/> rounds of a mixing function, data-dependent so
    /// that the JIT cannot drop or shorten it. Public: the benchmark calibrates iterations per microsecond with it.</summary>
    public static ulong Work(ulong value, int iterations)
    {
        var x = value + 0x9E37_79B9_7F4A_7C15UL;
        for (var i = 0; i < iterations; i++)
            x = (x ^ (x >> 29)) * 0xBF58_476D_1CE4_E5B9UL + (ulong)i;
        return x;
    }
}
