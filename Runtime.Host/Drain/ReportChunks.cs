namespace Weaving.Host.Drain;

/// <summary>
/// Groups the completions of a batch by the run (control queue) they are reported to, and cuts each run's into report
/// bodies of about <see cref="ChunkBytes"/>: one completion is never split, so a fan-out of 100,000 makes one completion
/// of 1.6 MB, which stays whole.
/// </summary>
public static class ReportChunks
{
    public const int ChunkBytes = 1 << 20;

    /// <summary>Each report to send: the control queue, and the encoded completions (in batch order).</summary>
    public static IEnumerable<(string ControlQueue, byte[] Body)> Of(IEnumerable<(string? ReplyTo, Completion? Completion)> finished, int chunkBytes = ChunkBytes)
    {
        var byRun = new Dictionary<string, List<Completion>>();
        foreach (var (replyTo, completion) in finished)
        {
            if (replyTo is null || completion is not { } done) continue;
            if (!byRun.TryGetValue(replyTo, out var completions)) byRun[replyTo] = completions = [];
            completions.Add(done);
        }
        foreach (var (controlQueue, completions) in byRun)
        {
            var chunk = new List<Completion>();
            var size = 0;
            foreach (var completion in completions)
            {
                var next = DrainReport.SizeOf(completion);
                if (chunk.Count > 0 && size + next > chunkBytes)
                {
                    yield return (controlQueue, DrainReport.Encode(chunk));
                    chunk = [];
                    size = 0;
                }
                chunk.Add(completion);
                size += next;
            }
            yield return (controlQueue, DrainReport.Encode(chunk));
        }
    }
}
