namespace Weaving.InMemory;

/// <summary>
/// Decides, for one group, whether a hop pays: what a message costs to run (measured inline and on the worker) against
/// what it costs to hand one over. As in heartbeat scheduling, a group is promoted to its own worker only when its work
/// is several hops' worth (<see cref="PromoteAt"/>), which bounds what the hops can cost to a fraction of the work; it
/// goes back inline when the work falls under <see cref="DemoteAt"/> hops, the gap between the two keeping a group whose
/// cost sits near the line from switching on every sample.
/// </summary>
sealed class RouteDecision(InlinePolicy policy, bool copies = false)
{
    public const double PromoteAt = 8;
    public const double DemoteAt = 4;
    const int EvidenceSamples = 4;
    // Heartbeat scheduling's other half: a worker is started only once the group has done this much work since its route
    // last changed (its messages times what one costs), so that what starting a worker and hopping costs (a thread, the
    // messages, the wake-ups: a few hundred microseconds) is a fraction of the work already done. A program whose groups
    // do less than this in all, or whose first messages only look dear because they also pay for the JIT compiling
    // what their handlers call, starts no thread; a long one promotes a heavy group a couple of milliseconds later.
    static readonly double PromoteAfterWorkTicks = CostMeter.TicksFromMicroseconds(2_000);
    // The same for a group whose messages are copied on a hop (CopyArguments), until a copy was timed: its first copy
    // pays for System.Text.Json's first use (loading it, building the type's metadata, compiling its converters), tens of
    // milliseconds, a hundred times a thread's start (56 ms for Arguments' grids on the two-core benchmark machine, whose
    // whole unwoven run takes 140 ms). Four times that in work first keeps that first copy a fraction of the work done.
    static readonly double PromoteCopyingAfterWorkTicks = CostMeter.TicksFromMicroseconds(200_000);
    // What a sender measures on enqueue (a lock, a list add: tens of nanoseconds) is only part of a hop: the message
    // object, the executor, the message's cache lines moving to the worker's core and, when it sleeps, waking it make
    // the rest. Measured end to end on two cores (WEAVING_INLINE=never against always, tiny handlers), a hop costs a
    // few hundred nanoseconds of CPU when the worker is awake and microseconds when it must be woken: a hop is taken to
    // cost at least this much. 1 µs was too little: Warehouse's OnRawScanAsync, async handlers of 2 to 5 µs, crossed the
    // line (8 hops) on a few dear first messages and then stayed on its worker (under 4 hops only below 4 µs), and the
    // program ran 1.31x unwoven against 1.07x to 1.11x inline (25 alternating rounds); with 2 µs, 1.22x against 1.34x for
    // the runtime before, and no group of Pipeline3's (20 µs and up) decided otherwise.
    static readonly double MinimumHopTicks = CostMeter.TicksFromMicroseconds(2);
    // Under InlinePolicy.Alternate, the route changes every this many posts.
    const int AlternateEvery = 7;

    volatile GroupRoute route = policy == InlinePolicy.Never ? GroupRoute.Hop : GroupRoute.Inline;
    int posts;
    long switches;
    // Messages the group had received when its route last changed (adaptive policy; the decider's only).
    long receivedAtSwitch;

    public InlinePolicy Policy { get; } = policy;

    /// <summary>What one message costs when it runs on its sender's thread (nested inline calls included).</summary>
    public CostMeter InlineCost { get; } = new(0);

    /// <summary>What one message costs when it runs on the worker.</summary>
    public CostMeter QueuedCost { get; } = new(0);

    /// <summary>What it costs a sender to queue a message, wake-up call included. Until one was queued, a prior of half a
    /// microsecond.</summary>
    public CostMeter SendCost { get; } = new(CostMeter.TicksFromMicroseconds(0.5), typical: true);

    /// <summary>What copying a message costs, for stages whose messages are copied (<c>CopyArguments</c>): part of a hop,
    /// which a direct call does not pay (it passes the arguments as they are). Timed on every copy; zero for other groups.</summary>
    public CostMeter CopyCost { get; } = new(0);

    /// <summary>
    /// What the source waited for this group, per message it received, in the drains the join rule made it do while this
    /// group alone had work pending: it posted, then waited for the message to be handled, so that much of the work
    /// overlapped nothing (a group fed by a source that must drain after every post to it, SharedSink's two sides).
    /// Zero until such a drain waited (<see cref="InMemoryTransport.DrainForJoin"/>).
    /// </summary>
    public CostMeter JoinWait { get; } = new(0, typical: true);

    /// <summary>The latest of the two handler estimates (the other may be stale: a group that has been queuing for a while
    /// has not run inline since).</summary>
    public double HandlerTicks => InlineCost.LastSampled >= QueuedCost.LastSampled ? InlineCost.Ticks : QueuedCost.Ticks;

    /// <summary>
    /// What a hop costs: the sender's half as measured, and the worker's half (taking the batch, the message's cache lines
    /// coming from the other core) taken to cost as much, and never less than <see cref="MinimumHopTicks"/>; plus the
    /// message's copy where messages are copied.
    /// </summary>
    public double HopTicks => Math.Max(2 * SendCost.Ticks, MinimumHopTicks) + CopyCost.Ticks;

    /// <summary>
    /// What a hop lets run beside the sender: the handler's cost, less what the source waits for each message (the
    /// <see cref="JoinWait"/>). The measure the decision compares with the hop: a message the source waits for in full
    /// gains nothing on a worker, however dear its handler. A wait measured <see cref="StaleHopTicks"/> before the group's
    /// latest inline sample no longer counts (as a stale hop cost: one try in that long).
    /// </summary>
    public double OverlapTicks =>
        JoinWait.Samples == 0 || (route == GroupRoute.Inline && InlineCost.LastSampled - JoinWait.LastSampled > StaleHopTicks)
            ? HandlerTicks
            : Math.Max(0, HandlerTicks - JoinWait.Ticks);

    /// <summary>
    /// What a hop is taken to cost when the last one measured is <see cref="StaleHopTicks"/> old: a group that runs inline
    /// queues nothing, so the cost that took it back inline would otherwise stay as measured then, however much the
    /// machine's load or the group's senders changed since. Once stale, a group whose work is worth a hop at the prior
    /// cost gets its worker again and the hop is measured anew (at most one such try in that long: if the hop is still
    /// dear, the group goes back inline after a few queued messages).
    /// </summary>
    double PriorHopTicks => MinimumHopTicks + CopyCost.Ticks;

    static readonly double StaleHopTicks = CostMeter.TicksFromMicroseconds(100_000);

    // Running inline, the group's latest sample is an inline one: the hop was last measured that long before it.
    bool HopIsStale => route == GroupRoute.Inline && InlineCost.LastSampled - SendCost.LastSampled > StaleHopTicks;

    public GroupRoute Route => route;

    /// <summary>Whether some stage of the group has its messages copied on a hop.</summary>
    public bool Copies { get; } = copies;

    // The work a group does inline before it is promoted: more while its first copy, and what it costs, is still ahead.
    double PromoteAfterWork => Copies && CopyCost.Samples == 0 ? PromoteCopyingAfterWorkTicks : PromoteAfterWorkTicks;

    /// <summary>How many times the route changed.</summary>
    public long Switches => Volatile.Read(ref switches);

    /// <summary>The route for the next post. Counted without a lock: a lost count only shifts an alternation.</summary>
    public GroupRoute RouteForPost()
    {
        if (Policy != InlinePolicy.Alternate) return route;
        var next = (++posts / AlternateEvery & 1) == 0 ? GroupRoute.Inline : GroupRoute.Hop;
        if (next != route) Set(next);
        return next;
    }

    /// <summary>Called after a new sample, with the messages the group received so far: follows the costs (adaptive
    /// policy only).</summary>
    public void Update(long received)
    {
        if (Policy != InlinePolicy.Adaptive) return;
        // The first samples of a group also time the JIT compiling what its handler calls: one is no evidence.
        if (route == GroupRoute.Inline && InlineCost.Samples < EvidenceSamples) return;
        if (route == GroupRoute.Hop && QueuedCost.Samples < EvidenceSamples && InlineCost.LastSampled >= QueuedCost.LastSampled) return;
        var handler = OverlapTicks;
        var hop = HopIsStale ? PriorHopTicks : HopTicks;
        if (route == GroupRoute.Inline && handler > PromoteAt * hop && (received - receivedAtSwitch) * handler >= PromoteAfterWork)
            Set(GroupRoute.Hop, received);
        else if (route == GroupRoute.Hop && handler < DemoteAt * hop) Set(GroupRoute.Inline, received);
    }

    void Set(GroupRoute next, long received = 0)
    {
        route = next;
        receivedAtSwitch = received;
        Interlocked.Increment(ref switches);
    }
}
