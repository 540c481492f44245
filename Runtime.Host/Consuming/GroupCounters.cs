namespace Weaving.Host.Consuming;

/// <summary>What one group consumer did, for its shutdown line and the <see cref="HostMetrics"/> counters.</summary>
public sealed class GroupCounters(string group, HostMetrics metrics)
{
    long processed, failed, dead, duplicates, inFlight;

    public long Processed => Interlocked.Read(ref processed);
    public long Failed => Interlocked.Read(ref failed);
    public long DeadLettered => Interlocked.Read(ref dead);
    public long Duplicates => Interlocked.Read(ref duplicates);
    /// <summary>Deliveries taken and not settled yet (see <see cref="Took"/>, <see cref="Settled"/>).</summary>
    public long InFlight => Interlocked.Read(ref inFlight);

    /// <summary>A delivery is being handled: it is in flight until its batch is settled (or dropped with its session).</summary>
    public void Took()
    {
        Interlocked.Increment(ref inFlight);
        metrics.InFlight(group, 1);
    }

    public void Settled(long count)
    {
        Interlocked.Add(ref inFlight, -count);
        metrics.InFlight(group, -count);
    }

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
