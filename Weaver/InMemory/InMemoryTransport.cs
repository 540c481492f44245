using Weaving.Execution;

namespace Weaving.InMemory;

/// <summary>
/// The default transport: every stage group has a worker thread and a bounded queue. A post blocks on a full queue only
/// when it goes downstream (to a higher rank) or comes from the source, so a group posting to itself, or around a cycle,
/// never blocks.
/// <para>
/// A hop costs something: a lock, a wake-up call when the worker sleeps, the message's cache lines moving to another
/// core. When a group's handlers cost less than that, queuing their messages makes the pipeline slower than the program
/// it came from. So the transport measures both, per group: what a message costs to run, and what it costs to hand one
/// over. A message whose group is idle and cheaper to run than to hand over runs inline, on the sender's thread, right
/// away (see <see cref="GroupWorker.TryClaimIdle"/> for why that keeps the ordering contract). Otherwise it is queued,
/// and the worker takes its queue a batch at a time.
/// </para>
/// </summary>
public sealed class InMemoryTransport(int queueCapacity = 4096) : IPipelineTransport
{
    GroupWorker[] workers = [];
    Dictionary<GroupInfo, GroupWorker>? byGroup;
    readonly object drainGate = new();
    volatile int drainWaiters;
    long failed;
    // WEAVING_INLINE=always|never overrides the measured choice: for comparing the two in benchmarks, not for use.
    static readonly int inlineMode = Environment.GetEnvironmentVariable("WEAVING_INLINE") switch { "always" => 1, "never" => 2, _ => 0 };

    public long FailedMessages => Interlocked.Read(ref failed);

    public void Start(WovenApp app)
    {
        workers = app.Groups.Select(g => new GroupWorker(this, g, queueCapacity)).ToArray();
        // A few groups: a scan by reference beats hashing.
        if (workers.Length > 8) byGroup = workers.ToDictionary(w => w.Group);
        foreach (var worker in workers) worker.Start();
    }

    public void Send(in Envelope message) => Dispatch(null, message);

    /// <summary>Hands a message to its group, from the source (<paramref name="sender"/> null) or from a group.</summary>
    internal void Dispatch(GroupWorker? sender, Envelope message)
    {
        if (message.Stage.CopyArguments)
            message = message with { Message = MessageCodec.Clone(message.Message) };
        var target = WorkerOf(message.Stage.Group);

        // Inline only downstream: the holder of a group then only ever waits on groups of higher rank, which never wait
        // on it, so claims cannot deadlock, and an inline chain is at most as deep as the stage graph.
        if ((sender is null || sender.Group.Rank < target.Group.Rank)
            && (inlineMode == 1 || inlineMode == 0 && (target.HandlerTicks < target.HopTicks || target.TimeToExplore()))
            && target.TryClaimIdle())
        {
            try
            {
                target.RunClaimed(message, inline: true);
            }
            finally
            {
                target.Release();
            }
            return;
        }
        target.Enqueue(message, mayBlock: sender is null || sender.Group.Rank < target.Group.Rank);
    }

    GroupWorker WorkerOf(GroupInfo group)
    {
        if (byGroup is not null) return byGroup[group];
        foreach (var worker in workers)
            if (ReferenceEquals(worker.Group, group))
                return worker;
        throw new InvalidOperationException($"group {group.Name} is not one of {string.Join(", ", workers.Select(w => w.Group.Name))}.");
    }

    /// <summary>What the transport measured and decided, per group: for a stage map, a log line, a benchmark.</summary>
    public IReadOnlyList<GroupStatistics> Statistics =>
        workers.Select(w => new GroupStatistics(w.Group.Name,
            Math.Round(CostMeter.MicrosecondsFromTicks(w.HandlerTicks), 3), Math.Round(CostMeter.MicrosecondsFromTicks(w.HopTicks), 3), w.Received, w.RanInline))
            .ToArray();

    internal void Failed(List<HandlerFailure> failures)
    {
        foreach (var failure in failures)
        {
            Interlocked.Increment(ref failed);
            Console.Error.WriteLine($"weaving: {failure}{Environment.NewLine}{failure.Exception}");
        }
    }

    internal void GroupWentIdle()
    {
        if (drainWaiters == 0) return;
        lock (drainGate) Monitor.PulseAll(drainGate);
    }

    public void Drain()
    {
        if (IsDrained()) return;
        lock (drainGate)
        {
            drainWaiters++;
            try
            {
                // The timeout covers a pulse that came between the check and the wait.
                while (!IsDrained()) Monitor.Wait(drainGate, 10);
            }
            finally
            {
                drainWaiters--;
            }
        }
    }

    // Drained when every group finished all it received. The counters only grow, and a message counts as finished only
    // after what it sent counts as received; two passes that read the same values saw one instant at which they all held.
    bool IsDrained()
    {
        Span<long> first = stackalloc long[workers.Length * 2];
        while (true)
        {
            var drained = true;
            for (var i = 0; i < workers.Length; i++)
            {
                first[2 * i] = workers[i].Received;
                first[2 * i + 1] = workers[i].Finished;
                drained &= first[2 * i] == first[2 * i + 1];
            }
            if (!drained) return false;
            var same = true;
            for (var i = 0; i < workers.Length && same; i++)
                same = workers[i].Received == first[2 * i] && workers[i].Finished == first[2 * i + 1];
            if (same) return true;
        }
    }

    public void Dispose()
    {
        foreach (var worker in workers) worker.Stop();
    }
}

/// <param name="HandlerMicroseconds">measured cost of running one message of the group</param>
/// <param name="HopMicroseconds">measured cost of queuing one for it (a prior of 1 µs until one was queued)</param>
/// <param name="Messages">messages the group received</param>
/// <param name="RanInline">of those, how many ran inline on their sender's thread</param>
public sealed record GroupStatistics(string Group, double HandlerMicroseconds, double HopMicroseconds, long Messages, long RanInline);
