namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// A variant is timed only after it printed what the unwoven program prints for the same run: a fast wrong answer is
/// not a result.
/// </summary>
public static class Validation
{
    static readonly HashSet<int> checkedWork = [];

    /// <summary>The unwoven program's report for a run of <paramref name="events"/>, from empty state.</summary>
    public static string Expected(int events, int work) => Pipeline3Build.ExpectedOutput(events, work).Trim();

    public static void Check(string variant, string actual, string expected)
    {
        if (actual.Trim() != expected)
            throw new InvalidOperationException($"{variant} printed '{actual.Trim()}', the unwoven program '{expected}': not timed.");
    }

    /// <summary>The woven program in a fresh context, and the channels pipeline, against the unwoven program.</summary>
    public static void CheckInMemory(int work)
    {
        lock (checkedWork)
        {
            if (!checkedWork.Add(work)) return;
            const int events = 5_000;
            var expected = Expected(events, work);
            Check("WovenInMemory", LoadedProgram.Load(Pipeline3Build.WovenDll).Run(events, work, captureOutput: true), expected);
            Check("HandWrittenChannels", $"{events} events aggregated, checksum {HandWrittenChannels.Run(events, work):x16}", expected);
        }
    }
}
