namespace Weaving.Host.Consuming;

/// <summary>What one group consumer did, for its shutdown line and the <see cref="HostMetrics"/> counters.</summary>
public sealed class GroupCounters(string group, HostMetrics metrics)
{
    long processed, failed, dead, duplicates;

    public long Processed => Interlocked.Read(ref processed);
    public long Failed => Interlocked.Read(ref failed);
    public long DeadLettered => Interlocked.Read(ref dead);
    public long Duplicates => Interlocked.Read(ref duplicates);

    public void AddProcessed(long count)
    {
        Interlocked.Add(ref processed, count);
        metrics.Processed(group, count);
    }

    public void AddFailed(long count)
    {
        Interlocked.Add(ref failed, count);
        metrics.Failed(group, count);
    }

    public void AddDeadLettered(long count)
    {
        Interlocked.Add(ref dead, count);
        metrics.DeadLettered(group, count);
    }

    public void AddDuplicate()
    {
        Interlocked.Increment(ref duplicates);
        metrics.Duplicate(group);
    }
}
