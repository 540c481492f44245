using Weaving.Execution;
using Weaving.InMemory;
using Weaving.Woven;

namespace Weaving;

/// <summary>
/// What woven code calls. Continuation call sites call a generated Post stub, which calls <see cref="Post"/>;
/// the woven entry point calls <see cref="StartSource"/> first and <see cref="FinishSource(int)"/> before it returns.
/// </summary>
public static class Pipeline
{
    static readonly Lock gate = new();
    static IPipelineTransport? transport;
    static WovenApp? app;
    static ulong run;
    // The sequence of the source's next post; the stages' PostedSinceDrain flags say where it posted since its last
    // drain, so that a post needs no lock: only a barrier (a drain) takes the gate.
    static long nextSequence;

    /// <summary>The transport in use, or null before the pipeline started.</summary>
    public static IPipelineTransport? Transport => transport;

    /// <summary>The woven app this process runs.</summary>
    public static WovenApp? App => app;

    /// <summary>
    /// Makes this process use <paramref name="pipelineTransport"/> for <paramref name="wovenApp"/> (the host does this
    /// before running the program's entry point). Starts the transport.
    /// </summary>
    public static void UseTransport(WovenApp wovenApp, IPipelineTransport pipelineTransport)
    {
        lock (gate)
        {
            if (transport is not null)
                throw new InvalidOperationException("the pipeline already has a transport; UseTransport must come before the program starts.");
            pipelineTransport.Start(wovenApp);
            app = wovenApp;
            transport = pipelineTransport;
        }
    }

    /// <summary>Called first by an entry point woven before it described itself: as <see cref="StartSource(Type, WovenAppDescription)"/>,
    /// from the assembly's attributes.</summary>
    public static void StartSource(Type entryType) =>
        StartSource(WovenApp.TryLoad(entryType.Assembly) ?? throw new InvalidOperationException($"{entryType.Assembly.GetName().Name} is not woven."));

    /// <summary>Called first by a woven entry point, with its description: starts the in-memory transport unless a host set one.</summary>
    public static void StartSource(Type entryType, WovenAppDescription description) =>
        StartSource(WovenApp.Load(entryType.Assembly, description));

    static void StartSource(WovenApp woven)
    {
        lock (gate)
        {
            EnsureStarted(woven);
            MessageId.NewRun(out run);
            Interlocked.Exchange(ref nextSequence, 0);
            ForgetPostsSinceDrain();
            foreach (var stage in woven.Stages) stage.Seeded = false;
        }
    }

    /// <summary>Called by a woven <c>int Main</c> before it returns: drains, reports failures, returns the exit code.</summary>
    public static int FinishSource(int exitCode)
    {
        var failed = DrainAndCount();
        return exitCode == 0 && failed > 0 ? 1 : exitCode;
    }

    /// <summary>Called by a woven <c>void Main</c> before it returns: drains, reports failures, sets the exit code.</summary>
    public static void FinishSource()
    {
        var failed = DrainAndCount();
        if (failed > 0 && Environment.ExitCode == 0) Environment.ExitCode = 1;
    }

    static long DrainAndCount()
    {
        var t = transport;
        if (t is null) return 0;
        t.Drain();
        ForgetPostsSinceDrain();
        TraceDecisions(t);
        var failed = t.FailedMessages;
        if (failed > 0)
            Console.Error.WriteLine($"weaving: {failed} message(s) failed; each is logged above with its stage and id.");
        return failed;
    }

    // WEAVING_TRACE=1: what the in-memory runtime decided for each group, on stderr, when the source finishes.
    static void TraceDecisions(IPipelineTransport finished)
    {
        if (finished is not InMemoryTransport memory || Environment.GetEnvironmentVariable("WEAVING_TRACE") is not ("1" or "true")) return;
        foreach (var group in memory.Statistics) Console.Error.WriteLine($"weaving: {group}");
        Console.Error.WriteLine($"weaving: the process allocated {GC.GetTotalAllocatedBytes()} bytes");
    }

    /// <summary>Blocks until all work started so far has finished.</summary>
    public static void Drain()
    {
        transport?.Drain();
        ForgetPostsSinceDrain();
    }

    /// <summary>
    /// Called by a generated Post stub before it allocates anything: true when the stub may call the handler directly,
    /// on this thread (the in-memory runtime measured that the group does not pay for a hop, and it is idle); the stub
    /// then calls <see cref="InlineReturned"/> after the handler, and <see cref="InlineFailed"/> if it threw. False
    /// under a broker transport (the route is null), and whenever the post must become a message for <see cref="Post"/>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool TryRunInline(StageRoute? route) => route?.Worker is { } worker && worker.TryEnterInline(route.Stage);

    /// <summary>After a direct call that <see cref="TryRunInline"/> allowed, whether the handler returned or threw.</summary>
    public static void InlineReturned(StageRoute route) => route.Worker!.ExitInline();

    /// <summary>A handler called directly by its Post stub threw: its message fails (rule 5 of the ordering contract).</summary>
    public static void InlineFailed(Exception exception, StageRoute route)
    {
        ((InMemoryTransport)transport!).FailedInline(route.Stage, NextSourceId(), exception);
    }

    /// <summary>Hands a message to its stage. Called by the generated Post stubs when the post cannot run inline.</summary>
    public static void Post(StageMessage message)
    {
        var current = app;
        if (current is null || current.Assembly != message.GetType().Assembly)
            current = StartLazily(message.GetType());
        var stage = current.StageOf(message.GetType());

        // The stage's first post in memory: its stubs get their route now, and this message may run inline as theirs will.
        if (stage.Route is null && transport is InMemoryTransport memory && memory.AddRoute(stage, message.GetType()) is { } route
            && TryRunInline(route))
        {
            try
            {
                message.Invoke();
            }
            catch (Exception e)
            {
                InlineFailed(e, route);
            }
            InlineReturned(route);
            return;
        }

        // From a handler that runs inline: sent now, its group the sender. From one under an executor: handed to it.
        if (transport is InMemoryTransport { InlineSender: { } sender })
        {
            sender.PostFromInline(new Envelope(stage, message, NextSourceId()));
            return;
        }
        if (GroupExecutor.TryPost(stage, message)) return;

        // Posted from the source: keep the join rule, then send.
        if (!MayPostFromSourceWithoutDrain(stage))
        {
            DrainForJoin();
            stage.PostedSinceDrain = true;
        }
        if (!stage.Seeded && stage.Seeds.Count > 0 && transport is IStateExchange exchange) SendSeeds(stage, exchange);
        transport!.Send(new Envelope(stage, message, NextSourceId()));
    }

    /// <summary>The drain the join rule asks for before a post from the source (which holds no claim while it waits).</summary>
    internal static void DrainForJoin()
    {
        lock (gate)
        {
            if (transport is InMemoryTransport memory) memory.DrainForJoin();
            else transport!.Drain();
            ForgetPostsSinceDrain();
        }
    }

    // Ids only name messages in logs in memory; a handler running inline has none of its own, so its posts and its
    // failure take the next id of the run.
    static MessageId NextSourceId() => MessageId.Root(run, (ulong)(Interlocked.Increment(ref nextSequence) - 1));

    /// <summary>
    /// The join rule, for a post from the source: false when the source posted, since its last drain, to a stage after
    /// which it must drain before posting to <paramref name="stage"/>. Otherwise records the post and returns true.
    /// </summary>
    internal static bool MayPostFromSourceWithoutDrain(StageInfo stage)
    {
        foreach (var before in stage.Barriers)
            if (before.PostedSinceDrain)
                return false;
        if (!stage.PostedSinceDrain) stage.PostedSinceDrain = true;
        return true;
    }

    /// <summary>
    /// Called by a woven source before it reads state that stages change, once its posts that could change it are done
    /// (docs/design.md §3): waits for all the work it started, then, when the group runs in another process, fetches the
    /// group's state into this process.
    /// </summary>
    public static void SyncState(string group)
    {
        var t = transport;
        if (t is null) return;
        Drain();
        if (t is IStateExchange exchange && app?.FindGroup(group)?.ResultsStage is { } results)
            exchange.FetchResults(results).Apply();
    }

    // What the source set up reaches each group that uses it before anything the source posts can (docs/design.md §6).
    static void SendSeeds(StageInfo stage, IStateExchange exchange)
    {
        lock (gate)
        {
            foreach (var seed in stage.Seeds)
            {
                if (seed.Seeded) continue;
                var snapshot = (StateSnapshot)Activator.CreateInstance(seed.MessageType)!;
                snapshot.Capture();
                exchange.Seed(new Envelope(seed, snapshot, NextSourceId()));
                seed.Seeded = true;
            }
            stage.Seeded = true;
        }
    }

    static void ForgetPostsSinceDrain()
    {
        if (app is null) return;
        foreach (var stage in app.Stages) stage.PostedSinceDrain = false;
    }

    // A [Stage] method called from code that did not start the pipeline (an unwoven entry point, a test).
    static WovenApp StartLazily(Type messageType)
    {
        lock (gate)
        {
            var woven = WovenApp.TryLoad(messageType.Assembly)
                ?? throw new InvalidOperationException($"{messageType.FullName} belongs to an assembly that is not woven.");
            if (app is not null && app != woven)
                throw new InvalidOperationException($"this process runs {app.Name}; a message of {woven.Name} cannot join it.");
            if (transport is null)
            {
                EnsureStarted(woven);
                MessageId.NewRun(out run);
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    if (transport is not { } t) return;
                    t.Drain();
                    TraceDecisions(t);
                };
            }
            return woven;
        }
    }

    static void EnsureStarted(WovenApp woven)
    {
        if (transport is not null)
        {
            if (app != woven)
                throw new InvalidOperationException($"this process runs {app?.Name}; {woven.Name} cannot start in it.");
            return;
        }
        var inMemory = new InMemoryTransport();
        inMemory.Start(woven);
        transport = inMemory;
        app = woven;
    }
}
