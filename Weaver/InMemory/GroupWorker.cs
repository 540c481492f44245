using System.Diagnostics;
using Weaving.Execution;

namespace Weaving.InMemory;

/// <summary>
/// One group's queue, its worker thread (started on the first message queued, gone again once the group runs inline and
/// its queue drained), and the group's exclusive right to run (the claim). Whoever holds the claim runs the group's
/// messages, one at a time: the worker, for the batch it took from the queue, or a sender calling a handler directly
/// (see <see cref="TryEnterInline"/>). The claim is what keeps "one message at a time per group" whichever thread runs
/// the group.
/// </summary>
sealed class GroupWorker
{
    // How long an idle worker keeps looking at its queue before it sleeps (SpinWait rounds: a few busy ones, then yields
    // of the core, so that on a busy machine it gives way to runnable work): a message that arrives within it costs the
    // sender no wake-up call.
    const int SpinsBeforeSleep = 64;
    // Posts of a group to itself from an inline handler nest as direct calls (as in the unwoven program) this deep; a
    // longer chain goes on through the executor, which runs it depth first without growing the stack.
    const int MaxInlineNesting = 64;
    const int FirstCooldown = 64;
    const int MaxCooldown = 1 << 16;

    readonly InMemoryTransport transport;
    GroupExecutor? executor;
    readonly int capacity;
    readonly object gate = new();
    Thread? thread;
    // Made with the first message queued (under the lock): a group that only ever runs inline needs none of them, nor
    // the lists' start-up. The worker's scratch lists: only the worker touches them.
    EnvelopeList outgoing = null!;
    List<HandlerFailure> failures = null!;
    EnvelopeList queue = null!;
    EnvelopeList batch = null!;
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
    long threadsStarted;
    long failedMessages;
    // The inline holder's bookkeeping (only the holder of the claim touches it): nesting of direct calls, the thread
    // and what ran on it before, and the start of a timed call.
    int nesting;
    InlineThread? holder;
    long callerContext;
    long sampleStart;
    // The leases of the thread that keeps the claim between direct calls (see Leases), else null. Set by the holder of
    // the claim; taken back to null by compare-and-swap, by the owner (EndLease) or by the worker (TryRevokeLease).
    Leases? leasedBy;
    // After the worker revoked a source thread's lease, that many of the next claims end with the sender's outer call
    // instead of being kept (doubling with each revocation): senders on several threads then pay a compare-and-swap a
    // post, not a process-wide barrier a switch. Claim holder only.
    int cooldown;
    int nextCooldown = FirstCooldown;
    // The lease is kept beyond its owner's call (a source thread's, out of its cooldown). Set with the lease; read by
    // senders deciding whether to take it over (a stale value only costs or skips an attempt: the handshake decides).
    volatile bool leaseOutlivesCall;
    long revocations;
    readonly long asInline;
    readonly long asQueued;

    public GroupWorker(InMemoryTransport transport, GroupInfo group, int index, int capacity, InlinePolicy policy)
    {
        this.transport = transport;
        this.capacity = capacity;
        Index = index;
        Rank = group.Rank;
        Group = group;
        Decision = new RouteDecision(policy, CopiesArguments(group));
        asInline = InlineThread.Encode(index, group.Rank, inline: true);
        asQueued = InlineThread.Encode(index, group.Rank, inline: false);
    }

    // A loop, not LINQ: compiled at every woven program's start.
    static bool CopiesArguments(GroupInfo group)
    {
        foreach (var stage in group.Stages)
            if (stage.CopyArguments) return true;
        return false;
    }

    /// <summary>The group's rank, read by posts from other groups (only downstream may run inline).</summary>
    public int Rank { get; }

    /// <summary>The group's position in its transport: its slot in every thread's <see cref="Leases.Busy"/>.</summary>
    public int Index { get; }

    /// <summary>How many times the worker took the claim back from a source thread that kept it.</summary>
    public long Revocations => Interlocked.Read(ref revocations);

    public GroupInfo Group { get; }

    // Made when the group first runs a message through it (queued, or nested too deep inline); only the holder of the
    // claim uses it.
    GroupExecutor Executor => executor ??= new GroupExecutor(Group);

    public RouteDecision Decision { get; }

    // Queued messages are counted under the lock, inline ones by the claim holder: two counters, no atomic add.
    public long Received => Volatile.Read(ref received) + Volatile.Read(ref receivedInline);
    /// <summary>Messages that ran inline on a sender's thread (the rest went through the queue).</summary>
    public long RanInline => Volatile.Read(ref receivedInline);
    public long Finished => Volatile.Read(ref finished);

    /// <summary>Messages queued to the group so far (those that ran inline not counted).</summary>
    internal long ReceivedQueued => Volatile.Read(ref received);

    /// <summary>What the group had received at the source's last drain for the join rule (the transport's, on the source).</summary>
    internal long ReceivedAtJoin { get; set; }
    /// <summary>Messages whose handler threw (for the meter).</summary>
    public long FailedMessages => Interlocked.Read(ref failedMessages);
    internal void CountFailure() => Interlocked.Increment(ref failedMessages);
    /// <summary>How many times a worker thread was started for this group (0: it never had one).</summary>
    public long ThreadsStarted => Interlocked.Read(ref threadsStarted);

    public void Stop()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>
    /// Called by a Post stub, before it allocates anything: true when the stub may call the handler directly, on this
    /// thread, now; then it must call <see cref="ExitInline"/> after it. True when the group runs inline, the post goes
    /// downstream (or comes from the source, or is the group's own post from a direct call), and the group is idle or
    /// this thread keeps its claim. In the steady state of a source posting to cheap groups it keeps their claims, and
    /// this is plain reads and writes: no atomic operation, no lock, no allocation.
    /// </summary>
    public bool TryEnterInline(StageInfo stage)
    {
        var here = InlineThread.Current;
        var from = here.Running;
        if (from != 0)
        {
            if (InlineThread.GroupIndex(from) == Index)
            {
                // The group's own post, from its handler called directly on this thread: a nested call, as unwoven.
                if (!InlineThread.RunsInline(from) || nesting >= MaxInlineNesting) return false;
                nesting++;
                return true;
            }
            // Only downstream: the holder of a group then only ever waits on groups of higher rank, which never wait on
            // it, so claims cannot deadlock, and an inline chain is at most as deep as the stage graph.
            if (InlineThread.Rank(from) >= Rank) return false;
        }
        var leases = here.Leases ??= new Leases(transport.GroupCount, sticky: !here.IsWorker);
        if (Decision.RouteForPost() != GroupRoute.Inline)
        {
            // The message will queue: a claim this thread keeps would only make the worker revoke it.
            if (leasedBy == leases) EndLeaseIfIdle(leases);
            return false;
        }
        // The join rule (a call) only when the stage has a barrier or the source did not post to it since its last drain.
        if (from == 0 && (stage.Barriers.Length != 0 || !stage.PostedSinceDrain) && !Pipeline.MayPostFromSourceWithoutDrain(stage))
        {
            // The join rule wants a drain first, which must not wait while this thread keeps claims; on the source no
            // handler runs, so every claim it keeps is idle.
            leases.ReleaseAll();
            Pipeline.DrainForJoin();
            stage.PostedSinceDrain = true;
        }
        if (leasedBy == leases)
        {
            // Kept from an earlier post. This thread's busy flag first, then the lease again: a worker revoking it clears
            // the lease first, then reads the flag after a process-wide barrier, so one of the two sees the other.
            Volatile.Write(ref leases.Busy[Index], 1);
            if (Volatile.Read(ref leasedBy) != leases || queued != 0)
            {
                Volatile.Write(ref leases.Busy[Index], 0);
                // Others' messages wait in the queue: they run first, on the worker; this one queues behind them.
                if (queued != 0) EndLease(leases);
                return false;
            }
        }
        else
        {
            if (!TryClaimIdle() && !TryTakeIdleLease()) return false;
            // Busy before the lease is visible: a worker that sees the lease also sees the flag.
            leases.Busy[Index] = 1;
            var cooling = leases.Sticky && cooldown > 0;
            if (cooling)
            {
                cooldown--;
                leases.EndWithCall = true;
            }
            leaseOutlivesCall = leases.Sticky && !cooling;
            Volatile.Write(ref leasedBy, leases);
            leases.Add(this);
        }
        nesting = 1;
        // Compared first: a reference written into an object costs a GC write barrier, and the holder rarely changes.
        if (holder != here) holder = here;
        callerContext = from;
        here.Running = asInline;
        Volatile.Write(ref receivedInline, receivedInline + 1);
        sampleStart = Decision.InlineCost.ShouldSample() ? Stopwatch.GetTimestamp() : 0;
        return true;
    }

    /// <summary>After a direct call that <see cref="TryEnterInline"/> allowed, whether the handler returned or threw.</summary>
    public void ExitInline()
    {
        if (--nesting > 0) return;
        if (sampleStart != 0)
        {
            Decision.InlineCost.Add(sampleStart, Stopwatch.GetTimestamp());
            sampleStart = 0;
            Decision.Update(Received);
        }
        var here = holder!;
        var caller = callerContext;
        here.Running = caller;
        // After everything it sent was counted as received: the drain never sees a gap.
        Volatile.Write(ref finished, finished + 1);
        var leases = here.Leases!;
        // Last: from here on a worker revoking the lease may run the group; this thread touches it only through the lease.
        Volatile.Write(ref leases.Busy[Index], 0);
        // The outer call of the source: the leases its handlers took end with it, unless the thread keeps them.
        if (caller == 0 && (!leases.Sticky || leases.EndWithCall)) leases.ReleaseAll();
        // Others queued behind the lease meanwhile: the worker runs them now, without revoking it.
        else if (queued != 0) EndLease(leases);
    }

    /// <summary>Ends the lease of <paramref name="leases"/>' thread on the claim, unless the worker revoked it.</summary>
    public void EndLease(Leases leases)
    {
        if (Interlocked.CompareExchange(ref leasedBy, null, leases) == leases) Release();
    }

    /// <summary>Ends the lease unless a handler of this group runs now on this thread; true when it ended (or was revoked).</summary>
    public bool EndLeaseIfIdle(Leases leases)
    {
        if (Volatile.Read(ref leases.Busy[Index]) != 0) return false;
        EndLease(leases);
        return true;
    }

    /// <summary>
    /// The worker, or a sender, takes the claim from a source thread that keeps it between posts and may not post again
    /// for a long time (it posts elsewhere, reads a file, waits for input, or ended). The lease is cleared first; a process-wide barrier then
    /// makes every thread's writes visible (what <c>FlushProcessWriteBuffers</c> does), so the owner's busy flag read
    /// after it is exact: either the owner set it before the barrier and the worker waits until its handler returned,
    /// or it sets it after and then sees the lease gone and backs off (<see cref="TryEnterInline"/>). That barrier is
    /// what lets the owner's every post go without a fence. True when this thread holds the claim.
    /// </summary>
    bool TryRevokeLease()
    {
        var owner = Volatile.Read(ref leasedBy);
        if (owner is not { Sticky: true } || Interlocked.CompareExchange(ref leasedBy, null, owner) != owner) return false;
        Interlocked.MemoryBarrierProcessWide();
        var spinner = new SpinWait();
        while (Volatile.Read(ref owner.Busy[Index]) != 0) spinner.SpinOnce();
        Revoked();
        return true;
    }

    /// <summary>
    /// A sender that finds the claim kept by a source thread's lease takes it over (<see cref="TryRevokeLease"/>, waiting
    /// as the worker does while the owner runs the group) rather than queue behind a claim nobody uses: a group fed by
    /// the source and by a worker keeps running inline. The wait cannot close a cycle: a sender only waits on a group of
    /// higher rank than any it runs (the rank rule), and the owner, inside that group, only on groups higher still. True
    /// when this thread holds the claim, the group's queue empty.
    /// </summary>
    bool TryTakeIdleLease()
    {
        // Only a lease kept between calls: one that ends with its owner's call is given back soon without a barrier.
        if (queued != 0 || !leaseOutlivesCall || !TryRevokeLease()) return false;
        // What was queued meanwhile runs first, on the worker.
        if (queued != 0)
        {
            Release();
            return false;
        }
        return true;
    }

    // The lease was taken from its owner; the taker holds the claim.
    void Revoked()
    {
        cooldown = nextCooldown;
        nextCooldown = Math.Min(2 * nextCooldown, MaxCooldown);
        Interlocked.Increment(ref revocations);
    }

    /// <summary>
    /// A message posted by a handler of this group that runs inline on this thread, and that could not run as a direct
    /// call: sent at once, in the order posted (the group is its sender), or, when it is the group's own and the direct
    /// calls nest too deep, run here through the executor, which keeps the depth-first order without the stack.
    /// </summary>
    public void PostFromInline(in Envelope message)
    {
        if (message.Stage.Group != Group)
        {
            transport.Dispatch(this, message);
            return;
        }
        var here = InlineThread.Current;
        var saved = here.Enter(asQueued);
        try
        {
            var sent = new EnvelopeList();
            List<HandlerFailure> failed = [];
            Executor.Execute(message, sent, failed);
            for (var i = 0; i < sent.Count; i++) transport.Dispatch(this, sent[i]);
            if (failed.Count > 0) transport.Failed(failed);
        }
        finally
        {
            here.Restore(saved);
        }
    }

    /// <summary>
    /// Queues a message. Blocks while the queue is full when <paramref name="mayBlock"/> (a post downstream or from the
    /// source), so a fast producer cannot run away from a slow stage. Starts the worker when the group has none.
    /// </summary>
    public void Enqueue(in Envelope message, bool mayBlock)
    {
        var sample = Decision.SendCost.ShouldSample();
        var start = sample ? Stopwatch.GetTimestamp() : 0;
        lock (gate)
        {
            if (queue is null) (queue, batch, outgoing, failures) = (new(), new(), new(), []);
            while (mayBlock && queue.Count >= capacity && !stopping)
            {
                // Nothing this thread waits for may wait for a claim it keeps.
                if (InlineThread.CurrentIfAny?.Leases is { } leases)
                {
                    Monitor.Exit(gate);
                    try { leases.ReleaseIdle(); }
                    finally { Monitor.Enter(gate); }
                    if (queue.Count < capacity) break;
                }
                blockedSenders++;
                Monitor.Wait(gate);
                blockedSenders--;
                // Time spent waiting for room is back-pressure, not the cost of a hop.
                sample = false;
            }
            queue.Add(message);
            Volatile.Write(ref received, received + 1);
            queued = queue.Count;
            if (thread is null && !stopping)
            {
                thread = new Thread(Work) { IsBackground = true, Name = "weaving:" + Group.Name };
                threadsStarted++;
                thread.Start();
                // Starting a thread (hundreds of microseconds) is paid once a promotion, not a hop: timed as one, it made
                // a group's first hop look dear enough to take it back inline at once (SharedSink's OnRight: 735 µs).
                sample = false;
            }
            else if (sleeping) Monitor.PulseAll(gate);
        }
        if (sample)
        {
            Decision.SendCost.Add(start, Stopwatch.GetTimestamp());
            Decision.Update(Received);
        }
    }

    /// <summary>
    /// Takes the claim if nobody holds it and nothing waits in the queue. Then every message sent to this group before
    /// has finished, and every message sent while the claim is held queues up behind; so running one message now, on the
    /// caller's thread, gives the group the same order and the same one-at-a-time execution as its worker would.
    /// </summary>
    bool TryClaimIdle()
    {
        if (queued != 0 || Volatile.Read(ref claim) != 0) return false;
        if (Interlocked.CompareExchange(ref claim, 1, 0) != 0) return false;
        // A message queued between the first look and the claim must run first: give the claim back.
        if (queued != 0)
        {
            Release();
            return false;
        }
        return true;
    }

    /// <summary>Gives the claim back after <see cref="TryClaimIdle"/>; wakes the worker for what queued meanwhile.</summary>
    void Release()
    {
        // A full fence: the worker may have seen the claim taken and gone to sleep; the read of the queue below then sees
        // what made it look, and wakes it.
        Interlocked.Exchange(ref claim, 0);
        if (queued != 0)
            lock (gate)
                if (sleeping) Monitor.PulseAll(gate);
        transport.GroupWentIdle();
    }

    /// <summary>Runs one queued message on the worker, which holds the claim, and sends what it posted.</summary>
    void RunQueued(in Envelope message)
    {
        var here = InlineThread.Current;
        var saved = here.Enter(asQueued);
        try
        {
            var meter = Decision.QueuedCost;
            if (meter.ShouldSample())
            {
                var start = Stopwatch.GetTimestamp();
                Executor.Execute(message, outgoing, failures);
                meter.Add(start, Stopwatch.GetTimestamp());
                Decision.Update(Received);
            }
            else
                Executor.Execute(message, outgoing, failures);

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
        }
        finally
        {
            here.Restore(saved);
        }
        // After everything it sent was counted as received: the drain never sees a gap.
        Volatile.Write(ref finished, finished + 1);
        InlineThread.CurrentIfAny?.Leases?.ReleaseAll();
    }

    void Work()
    {
        InlineThread.Current.IsWorker = true;
        while (TakeBatch())
        {
            for (var i = 0; i < batch.Count; i++)
                RunQueued(batch[i]);
            batch.Clear();
        }
    }

    // Takes everything queued, with the claim, which the worker keeps from one batch to the next while work is waiting.
    // When there is none, gives the claim back, spins a little, then sleeps until a sender or a releasing holder wakes it;
    // or, when the group now runs inline, ends the thread (the next message queued starts another).
    bool TakeBatch()
    {
        var spins = 0;
        var revoked = false;
        while (true)
        {
            var revoke = false;
            lock (gate)
            {
                if (stopping) return false;
                if (queue.Count != 0 && (workerHoldsClaim || revoked || Interlocked.CompareExchange(ref claim, 1, 0) == 0))
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
                    // A source thread that keeps the claim hands it over at its next post; one that stopped posting
                    // loses it. Outside the lock: the owner may need it to queue what the handler it runs posts.
                    revoke = queue.Count != 0 && Volatile.Read(ref leasedBy) is { Sticky: true };
                    if (!revoke && queue.Count == 0 && Decision.Route == GroupRoute.Inline)
                    {
                        thread = null;
                        return false;
                    }
                    if (!revoke)
                    {
                        sleeping = true;
                        Monitor.Wait(gate);
                        sleeping = false;
                        spins = 0;
                        continue;
                    }
                }
            }
            if (revoke)
            {
                revoked = TryRevokeLease();
                continue;
            }
            // Outside the lock, so that senders can get in.
            var spinner = new SpinWait();
            while (spins++ < SpinsBeforeSleep && (queued == 0 || Volatile.Read(ref claim) != 0))
                spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
