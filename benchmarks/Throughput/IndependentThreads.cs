namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// The machine's ceiling for Pipeline3, not a pipeline: the three stages' work on three threads of their own that never
/// hand anything over (each runs its stage's work for every event, on the event's id instead of the previous stage's
/// output). No runtime, however cheap its hops, runs three stages on this machine faster than this: on two cores it is
/// where the operating system's sharing of three busy threads between two cores leaves the ideal 2x.
/// </summary>
public static class IndependentThreads
{
    /// <summary>Runs the work of <paramref name="events"/> events; returns a checksum (not Pipeline3's: nothing flows).</summary>
    public static ulong Run(int events, int work)
    {
        var results = new ulong[3];
        var threads = new Thread[3];
        for (var stage = 0; stage < threads.Length; stage++)
        {
            var index = stage;
            threads[stage] = new Thread(() =>
            {
                ulong checksum = 0;
                for (var i = 0; i < events; i++)
                    checksum = index == 2 ? StageWork.Fold(checksum, i, (ulong)i, work) : checksum ^ StageWork.Run((ulong)i, work);
                results[index] = checksum;
            }) { IsBackground = true, Name = "IndependentThreads " + index };
            threads[stage].Start();
        }
        foreach (var thread in threads) thread.Join();
        return results[0] ^ results[1] ^ results[2];
    }
}
