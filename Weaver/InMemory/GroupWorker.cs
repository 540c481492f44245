using System.Diagnostics;
using System.Runtime.InteropServices;
using Weaving.Execution;

namespace Weaving.InMemory;

/// <summary>
/// One group's queue, its worker thread, and the group's exclusive right to run (the claim). Whoever holds the claim runs
/// the group's messages, one at a time: the worker, for the batch it took from the queue, or a sender running one message
/// inline (see <see cref="TryClaimIdle"/>). The claim is what keeps "one message at a time per group" whichever thread
/// runs the group.
/// </summary>
sealed class GroupWorker
{
    // How long an idle worker keeps looking at its queue before it sleeps (SpinWait rounds: a few busy ones, then yields
    // of the core, so that on a busy machine it gives way to runnable work): a message that arrives within it costs the
    // sender no wake-up call.
    const int SpinsBeforeSleep = 64;

    readonly InMemoryTransport transport;
    readonly GroupExecutor executor;
    readonly int capacity;
    readonly object gate = new();
    readonly Thread thread;
    // The holder's scratch lists: only the holder of the claim touches them.
    readonly List<Envelope> outgoing = [];
    readonly List<HandlerFailure> failures = [];
    List<Envelope> queue = [];
    List<Envelope> batch = [];
    volatile int queued;
    // The claim: 1 while a thread runs this group's messages. Taken by compare-and-swap, so that a sender running a
    // message inline takes no lock; the worker takes and gives it back under the lock, with the queue.
    int claim;
    bool workerHoldsClaim;
    bool sleeping;
    int blockedSenders;
    bool stopping;
    // Messages handed to this group and messages it finished: the transport drains when every group's two are equal.
    long received;
    long receivedInline;
    long finished;

    public GroupWorker(InMemoryTransport transport, GroupInfo group, int capacity)
    {
        this.transport = transport;
        this.capacity = capacity;
        executor = new GroupExecutor(group);
        thread = new Thread(Work) { IsBackground = true, Name = "weaving:" + group.Name };
    }

    public GroupInfo Group => executor.Group;

    /// <summary>What one message of this group costs to run on its sender's thread, measured when it runs inline.</summary>
    public CostMeter InlineCost { get; } = new(0);

    /// <summary>What one message costs to run on the worker, measured there.</summary>
    public CostMeter QueuedCost { get; } = new(0);

    /// <summary>What it costs a sender to put a message on this group's queue, wake-up call included, measured on enqueue.
    /// Until a message has gone through the queue, a prior of half a microsecond.</summary>
    public CostMeter SendCost { get; } = new(CostMeter.TicksFromMicroseconds(0.5));

    /// <summary>What a message costs to run, in stopwatch ticks: the latest of the two estimates, inline or on the worker
    /// (the other may be stale: a group that has been queuing for a while has not run inline since).</summary>
    public double HandlerTicks => InlineCost.LastSampled >= QueuedCost.LastSampled ? InlineCost.Ticks : QueuedCost.Ticks;

    /// <summary>
    /// What a hop to this group costs, in stopwatch ticks: the sender's half as measured, and the worker's half (taking
    /// the batch, the message's cache lines coming from the other core) taken to cost as much. The receiving half is not
    /// timed on its own: most of it is cache misses inside the handler, which the handler's time on a busy machine
    /// hides in noise.
    /// </summary>
    public double HopTicks => 2 * SendCost.Ticks;

    /// <summary>
    /// True once in 256 posts: the message is offered to run inline although the estimates say
    /// queue, so that the inline cost is measured again (the load, or the handler's own cost, may have changed since).
    /// Counted without a lock: a lost count only shifts the next try.
    /// </summary>
    public bool TimeToExplore() => (++explore & 255) == 0;

    int explore;

    // Queued messages are counted under the lock, inline ones by the claim holder: two counters, no atomic add.
    public long Received => Volatile.Read(ref received) + Volatile.Read(ref receivedInline);
    /// <summary>Messages that ran inline on a sender's thread (the rest went through the queue).</summary>
    public long RanInline => Volatile.Read(ref receivedInline);
    public long Finished => Volatile.Read(ref finished);

    public void Start() => thread.Start();

    public void Stop()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>
    /// Queues a message. Blocks while the queue is full when <paramref name="mayBlock"/> (a post downstream or from the
    /// source), so a fast producer cannot run away from a slow stage.
    /// </summary>
    public void Enqueue(in Envelope message, bool mayBlock)
    {
        var sample = SendCost.ShouldSample();
        var start = sample ? Stopwatch.GetTimestamp() : 0;
        lock (gate)
        {
            while (mayBlock && queue.Count >= capacity && !stopping)
            {
                blockedSenders++;
                Monitor.Wait(gate);
                blockedSenders--;
                // Time spent waiting for room is back-pressure, not the cost of a hop.
                sample = false;
            }
            queue.Add(message);
            Volatile.Write(ref received, received + 1);
            queued = queue.Count;
            if (sleeping) Monitor.PulseAll(gate);
        }
        if (sample) SendCost.Add(start, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Takes the claim if nobody holds it and nothing waits in the queue. Then every message sent to this group before
    /// has finished, and every message sent while the claim is held queues up behind; so running one message now, on the
    /// caller's thread, gives the group the same order and the same one-at-a-time execution as its worker would.
    /// </summary>
    public bool TryClaimIdle()
    {
        if (queued != 0 || Volatile.Read(ref claim) != 0) return false;
        if (Interlocked.CompareExchange(ref claim, 1, 0) != 0) return false;
        // A message queued between the first look and the claim must run first: give the claim back.
        if (queued != 0)
        {
            Release();
            return false;
        }
        Volatile.Write(ref receivedInline, receivedInline + 1);
        return true;
    }

    /// <summary>Gives the claim back after <see cref="TryClaimIdle"/>; wakes the worker for what queued meanwhile.</summary>
    public void Release()
    {
        // A full fence: the worker may have seen the claim taken and gone to sleep; the read of the queue below then sees
        // what made it look, and wakes it.
        Interlocked.Exchange(ref claim, 0);
        if (queued != 0)
            lock (gate)
                if (sleeping) Monitor.PulseAll(gate);
        transport.GroupWentIdle();
    }

    /// <summary>Runs one message of this group on the calling thread, which holds the claim, and sends what it posted.</summary>
    public void RunClaimed(in Envelope message, bool inline)
    {
        var meter = inline ? InlineCost : QueuedCost;
        if (meter.ShouldSample())
        {
            var start = Stopwatch.GetTimestamp();
            executor.Execute(message, outgoing, failures);
            meter.Add(start, Stopwatch.GetTimestamp());
        }
        else
            executor.Execute(message, outgoing, failures);

        if (outgoing.Count > 0)
        {
            // By index: a message sent on may run inline and post to other groups, never to this one's lists.
            for (var i = 0; i < outgoing.Count; i++) transport.Dispatch(this, outgoing[i]);
            outgoing.Clear();
        }
        if (failures.Count > 0)
        {
            transport.Failed(failures);
            failures.Clear();
        }
        // After everything it sent was counted as received: the drain never sees a gap.
        Volatile.Write(ref finished, finished + 1);
    }

    void Work()
    {
        while (TakeBatch())
        {
            foreach (ref readonly var message in CollectionsMarshal.AsSpan(batch))
                RunClaimed(message, inline: false);
            batch.Clear();
        }
    }

    // Takes everything queued, with the claim, which the worker keeps from one batch to the next while work is waiting.
    // When there is none, gives the claim back, spins a little, then sleeps until a sender or a releasing holder wakes it.
    bool TakeBatch()
    {
        var spins = 0;
        while (true)
        {
            lock (gate)
            {
                if (stopping) return false;
                if (queue.Count != 0 && (workerHoldsClaim || Interlocked.CompareExchange(ref claim, 1, 0) == 0))
                {
                    workerHoldsClaim = true;
                    (queue, batch) = (batch, queue);
                    queued = 0;
                    if (blockedSenders > 0) Monitor.PulseAll(gate);
                    return true;
                }
                if (workerHoldsClaim)
                {
                    workerHoldsClaim = false;
                    Interlocked.Exchange(ref claim, 0);
                    transport.GroupWentIdle();
                }
                if (spins >= SpinsBeforeSleep)
                {
                    sleeping = true;
                    Monitor.Wait(gate);
                    sleeping = false;
                    spins = 0;
                    continue;
                }
            }
            // Outside the lock, so that senders can get in.
            var spinner = new SpinWait();
            while (spins++ < SpinsBeforeSleep && (queued == 0 || Volatile.Read(ref claim) != 0))
                spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
