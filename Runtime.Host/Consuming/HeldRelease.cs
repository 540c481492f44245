using System.Text;
using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>
/// What the deliveries of a group that keeps checkpoints printed and report, from the last checkpoint this host released
/// on (the publish loop's only). A checkpoint carries all of it: normally what came since the checkpoint before, which
/// was released once confirmed; but after a lost connection, the checkpoint before may never have reached the broker,
/// and the next one must then carry its part too (<see cref="GroupCheckpoints.Seal"/>).
/// </summary>
sealed class HeldRelease
{
    // The open segment (last), and one per sealed checkpoint not known to be released, oldest first.
    readonly List<Segment> segments = [new()];
    int generation;

    sealed class Segment
    {
        public readonly StringBuilder Output = new();
        public readonly List<(string? ReplyTo, Completion? Completion)> Reports = [];
        public long? SealedBy;
    }

    /// <summary>A finished delivery's output and report, once (<see cref="FinishedDelivery.Held"/>).</summary>
    public void Add(FinishedDelivery item)
    {
        if (item.Held) return;
        item.Held = true;
        var open = segments[^1];
        open.Output.Append(item.Output);
        item.Output = null;
        open.Reports.Add((item.ReplyTo, item.Completion));
    }

    /// <summary>
    /// The state was replaced from <paramref name="itemGeneration"/> on (<see cref="GroupCheckpoints.Generation"/>): what was
    /// held before is not released here; its messages run again on the new state and print then.
    /// </summary>
    public void Follow(int itemGeneration)
    {
        if (itemGeneration == generation) return;
        generation = itemGeneration;
        segments.Clear();
        segments.Add(new Segment());
    }

    /// <summary>
    /// Everything not released yet, for checkpoint <paramref name="sequence"/> to carry; checkpoints up to
    /// <paramref name="releasedSequence"/> were released meanwhile (by <see cref="GroupConsumer"/>, after a reconnect).
    /// </summary>
    public (string? Output, IReadOnlyList<HeldReport> Reports) Seal(long sequence, long releasedSequence)
    {
        Released(releasedSequence);
        var output = new StringBuilder();
        foreach (var segment in segments) output.Append(segment.Output);
        var reports = ReportChunks.Of(segments.SelectMany(s => s.Reports)).Select(r => new HeldReport(r.ControlQueue, r.Body)).ToList();
        segments[^1].SealedBy = sequence;
        segments.Add(new Segment());
        return (output.Length > 0 ? output.ToString() : null, reports);
    }

    /// <summary>Checkpoint <paramref name="sequence"/> of this host was released: what it carried is done.</summary>
    public void Released(long sequence)
    {
        while (segments.Count > 1 && segments[0].SealedBy <= sequence) segments.RemoveAt(0);
    }
}
