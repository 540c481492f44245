using System.Reflection;
using Weaving.Execution;

namespace Weaving.InMemory;

/// <summary>
/// The default transport: every stage group may have a worker thread and a bounded queue. A post blocks on a full queue
/// only when it goes downstream (to a higher rank) or comes from the source, so a group posting to itself, or around a
/// cycle, never blocks.
/// <para>
/// A hop costs something: a message object, a lock, a wake-up call when the worker sleeps, the message's cache lines
/// moving to another core. When a group's handlers cost less than that, queuing their messages makes the pipeline
/// slower than the program it came from. So the transport measures both, per group (<see cref="RouteDecision"/>), and a
/// group that does not pay for its hop runs inline: its Post stubs call the handler directly, on the sender's thread,
/// allocating nothing (see <see cref="GroupWorker.TryEnterInline"/> for why that keeps the ordering contract). A group
/// gets a worker thread when its first message is queued; a program whose groups all run inline starts none.
/// </para>
/// </summary>
public sealed class InMemoryTransport(int queueCapacity = 4096) : IPipelineTransport
{
    GroupWorker[] workers = [];
    Dictionary<GroupInfo, GroupWorker>? byGroup;
    readonly object drainGate = new();
    volatile int drainWaiters;
    long failed;
    TransportMeter? meter;

    public long FailedMessages => Interlocked.Read(ref failed);

    /// <summary>WEAVING_INLINE: the measured choice, or a fixed one for tests and comparisons.</summary>
    public InlinePolicy Policy { get; } = InlinePolicies.FromEnvironment();

    public void Start(WovenApp app)
    {
        // Loops, not LINQ: generic code to compile at start-up is time a program that never hops would lose.
        workers = new GroupWorker[app.Groups.Count];
        for (var i = 0; i < workers.Length; i++) workers[i] = new GroupWorker(this, app.Groups[i], i, queueCapacity, Policy);
        // A few groups: a scan by reference beats hashing.
        if (workers.Length > 8)
        {
            byGroup = [];
            foreach (var worker in workers) byGroup.Add(worker.Group, worker);
        }
        // The routes the entry point's description made lead to their group's worker from now on.
        foreach (var stage in app.Stages)
            if (stage.Route is { } route)
                route.Worker = WorkerOf(stage.Group);
        meter = TransportMeter.Attach(this);
    }

    /// <summary>The groups' workers, in the app's order.</summary>
    internal GroupWorker[] Workers => workers;

    /// <summary>
    /// Gives the Post stubs of <paramref name="stage"/> their route when the app was read from its attributes (a library,
    /// or an entry point woven before it described itself): the static field of its message type, set by reflection on
    /// the stage's first post, from the message's own type, so that start-up resolves no type by name. Null when the
    /// stage has a route already.
    /// </summary>
    internal StageRoute? AddRoute(StageInfo stage, Type messageType)
    {
        lock (drainGate)
        {
            if (stage.Route is not null) return null;
            var route = new StageRoute(stage, WorkerOf(stage.Group));
            messageType.GetField(StageRoute.FieldName, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)?.SetValue(null, route);
            stage.SetRoute(route);
            return route;
        }
    }

    /// <summary>How many groups the app has: the size of every thread's <see cref="Leases.Busy"/>.</summary>
    internal int GroupCount => workers.Length;

    public void Send(in Envelope message) => Dispatch(null, message);

    /// <summary>Queues a message for its group, from the source (<paramref name="sender"/> null) or from a group.</summary>
    internal void Dispatch(GroupWorker? sender, Envelope message)
    {
        var target = WorkerOf(message.Stage.Group);
        if (message.Stage.CopyArguments)
        {
            // Every copy timed: it costs far more than the two timestamps.
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            message = message with { Message = MessageCodec.Clone(message.Message) };
            target.Decision.CopyCost.Add(start, System.Diagnostics.Stopwatch.GetTimestamp());
        }
        target.Enqueue(message, mayBlock: sender is null || sender.Group.Rank < target.Group.Rank);
    }

    /// <summary>
    /// The group of the handler that runs on this thread as a direct call from its Post stub, or null when the innermost
    /// handler here runs under an executor (or none runs): a post made there is sent at once, with that group as sender.
    /// </summary>
    internal GroupWorker? InlineSender =>
        InlineThread.CurrentIfAny is { Running: var running } && InlineThread.RunsInline(running) ? workers[InlineThread.GroupIndex(running)] : null;

    GroupWorker WorkerOf(GroupInfo group)
    {
        if (byGroup is not null) return byGroup[group];
        foreach (var worker in workers)
            if (ReferenceEquals(worker.Group, group))
                return worker;
        throw UnknownGroup(group);
    }

    // Apart, so that compiling WorkerOf does not load System.Linq for a message nobody should ever see.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    InvalidOperationException UnknownGroup(GroupInfo group) =>
        new($"group {group.Name} is not one of {string.Join(", ", workers.Select(w => w.Group.Name))}.");

    /// <summary>What the transport measured and decided, per group: for the trace at exit, a log line, a benchmark.</summary>
    public IReadOnlyList<GroupStatistics> Statistics =>
        workers.Select(w => new GroupStatistics(w.Group.Name, w.Decision.Route,
            Math.Round(CostMeter.MicrosecondsFromTicks(w.Decision.HandlerTicks), 3),
            Math.Round(CostMeter.MicrosecondsFromTicks(w.Decision.HopTicks), 3),
            w.Received, w.RanInline, w.Decision.Switches, w.ThreadsStarted, w.Revocations,
            Math.Round(CostMeter.MicrosecondsFromTicks(w.Decision.JoinWait.Ticks), 3)))
            .ToArray();

    internal void Failed(List<HandlerFailure> failures)
    {
        foreach (var failure in failures)
        {
            Interlocked.Increment(ref failed);
            WorkerOf(failure.Message.Stage.Group).CountFailure();
            Console.Error.WriteLine($"weaving: {failure}{Environment.NewLine}{failure.Exception}");
        }
    }

    /// <summary>A handler called directly by its Post stub threw: the message it stood for failed.</summary>
    internal void FailedInline(StageInfo stage, MessageId id, Exception exception)
    {
        Interlocked.Increment(ref failed);
        WorkerOf(stage.Group).CountFailure();
        Console.Error.WriteLine($"weaving: stage {stage.Name} failed message {id} (run inline): {exception.GetType().FullName}: {exception.Message}{Environment.NewLine}{exception}");
    }

    internal void GroupWentIdle()
    {
        if (drainWaiters == 0) return;
        lock (drainGate) Monitor.PulseAll(drainGate);
    }

    public void Drain()
    {
        // Claims this thread keeps between posts are not work; but what it waits for may need them.
        InlineThread.CurrentIfAny?.Leases?.ReleaseIdle();
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

    /// <summary>
    /// The drain the join rule asks of the source before a post. When one group alone has work pending and nothing is
    /// queued to any other group while the source waits (what that group's handlers post elsewhere runs inline, inside
    /// them), the source waits for that group's work and nothing runs beside it: what it waited, spread over the messages
    /// the group received since the previous drain for the join rule, is that group's <see cref="RouteDecision.JoinWait"/>,
    /// the part of its hops that bought nothing (all of a message's when the source drains after every post to it; next
    /// to nothing when it drains once after thousands, or while the stages after it work too). Only the source drains for
    /// the join rule, one drain at a time (under the pipeline's lock).
    /// </summary>
    internal void DrainForJoin()
    {
        GroupWorker? alone = null;
        foreach (var worker in workers)
        {
            if (worker.Received == worker.Finished) continue;
            if (alone is not null)
            {
                alone = null;
                break;
            }
            alone = worker;
        }
        if (alone is null)
            Drain();
        else
        {
            var queuedBeside = QueuedBeside(alone);
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            Drain();
            var end = System.Diagnostics.Stopwatch.GetTimestamp();
            if (QueuedBeside(alone) == queuedBeside) alone.Decision.JoinWait.Add(start, end, alone.Received - alone.ReceivedAtJoin);
        }
        foreach (var worker in workers) worker.ReceivedAtJoin = worker.Received;
    }

    // Messages queued so far to every group but `group`: the counters only grow, so an unchanged sum means none was.
    long QueuedBeside(GroupWorker group)
    {
        long queued = 0;
        foreach (var worker in workers)
            if (worker != group) queued += worker.ReceivedQueued;
        return queued;
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
        meter?.Dispose();
        foreach (var worker in workers) worker.Stop();
    }
}

/// <param name="Route">how the group's messages run now</param>
/// <param name="HandlerMicroseconds">measured cost of running one message of the group</param>
/// <param name="HopMicroseconds">measured cost of a hop to it (a prior of 2 µs until one was queued)</param>
/// <param name="Messages">messages the group received</param>
/// <param name="RanInline">of those, how many ran inline on their sender's thread</param>
/// <param name="Switches">how many times its route changed</param>
/// <param name="WorkerThreads">how many times a worker thread was started for it</param>
/// <param name="Revocations">how many times its worker took its claim back from a source thread that kept it between posts</param>
/// <param name="JoinWaitMicroseconds">what the source waited for it in drains for the join rule, per message it received
/// (<see cref="RouteDecision.JoinWait"/>): the part of its work a hop did not run beside the source</param>
public sealed record GroupStatistics(string Group, GroupRoute Route, double HandlerMicroseconds, double HopMicroseconds,
    long Messages, long RanInline, long Switches, long WorkerThreads, long Revocations, double JoinWaitMicroseconds = 0)
{
    /// <summary>One line of the trace at exit (WEAVING_TRACE=1).</summary>
    public override string ToString() =>
        $"group {Group}: {Route.ToString().ToLowerInvariant()}, handler {HandlerMicroseconds:0.###} µs, hop {HopMicroseconds:0.###} µs, " +
        $"{Messages} messages ({RanInline} inline), {Switches} switches, {WorkerThreads} worker threads, {Revocations} revocations, " +
        $"source waited {JoinWaitMicroseconds:0.###} µs a message";
}
