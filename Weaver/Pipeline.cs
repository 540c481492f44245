using Weaving.Execution;
using Weaving.InMemory;

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

    /// <summary>Called first by a woven entry point: starts the in-memory transport unless a host set one.</summary>
    public static void StartSource(Type entryType)
    {
        lock (gate)
        {
            var woven = WovenApp.TryLoad(entryType.Assembly)
                ?? throw new InvalidOperationException($"{entryType.Assembly.GetName().Name} is not woven.");
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
        var failed = t.FailedMessages;
        if (failed > 0)
            Console.Error.WriteLine($"weaving: {failed} message(s) failed; each is logged above with its stage and id.");
        return failed;
    }

    /// <summary>Blocks until all work started so far has finished.</summary>
    public static void Drain()
    {
        transport?.Drain();
        ForgetPostsSinceDrain();
    }

    /// <summary>Hands a message to its stage. Called by the generated Post stubs.</summary>
    public static void Post(StageMessage message)
    {
        var current = app;
        if (current is null || current.Assembly != message.GetType().Assembly)
            current = StartLazily(message.GetType());
        var stage = current.StageOf(message.GetType());

        if (GroupExecutor.TryPost(stage, message)) return;

        // Posted from the source: keep the join rule, then send.
        foreach (var before in stage.BarrierAfter)
        {
            if (!before.PostedSinceDrain) continue;
            lock (gate)
            {
                transport!.Drain();
                ForgetPostsSinceDrain();
            }
            break;
        }
        if (!stage.Seeded && stage.Seeds.Count > 0 && transport is IStateExchange exchange) SendSeeds(stage, exchange);
        if (!stage.PostedSinceDrain) stage.PostedSinceDrain = true;
        var envelope = new Envelope(stage, message, MessageId.Root(run, (ulong)(Interlocked.Increment(ref nextSequence) - 1)));
        transport!.Send(envelope);
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
                exchange.Seed(new Envelope(seed, snapshot, MessageId.Root(run, (ulong)(Interlocked.Increment(ref nextSequence) - 1))));
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
                AppDomain.CurrentDomain.ProcessExit += (_, _) => transport?.Drain();
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
