using Weaving.Execution;

namespace Weaving.InMemory;

/// <summary>
/// The default transport: every stage group on its own worker thread, bounded queues between them.
/// A post blocks on a full queue only when it goes downstream (to a higher rank) or comes from the source,
/// so a group posting to itself, or around a cycle, never blocks.
/// </summary>
public sealed class InMemoryTransport(int queueCapacity = 4096) : IPipelineTransport
{
    readonly Dictionary<GroupInfo, GroupWorker> workers = [];
    readonly object drainGate = new();
    long outstanding;
    long failed;

    public long FailedMessages => Interlocked.Read(ref failed);

    public void Start(WovenApp app)
    {
        foreach (var group in app.Groups)
            workers.Add(group, new GroupWorker(this, group, queueCapacity));
        foreach (var worker in workers.Values)
            worker.Start();
    }

    public void Send(in Envelope message) => SendFrom(null, message);

    internal void SendFrom(GroupInfo? sender, Envelope message)
    {
        if (message.Stage.CopyArguments)
            message = message with { Message = MessageCodec.Clone(message.Message) };
        Interlocked.Increment(ref outstanding);
        var target = workers[message.Stage.Group];
        var mayBlock = sender is null || sender.Rank < target.Group.Rank;
        target.Enqueue(message, mayBlock);
    }

    internal void Completed(int messages, List<HandlerFailure> failures)
    {
        foreach (var failure in failures)
        {
            Interlocked.Increment(ref failed);
            Console.Error.WriteLine($"weaving: {failure}{Environment.NewLine}{failure.Exception}");
        }
        if (Interlocked.Add(ref outstanding, -messages) == 0)
            lock (drainGate) Monitor.PulseAll(drainGate);
    }

    public void Drain()
    {
        lock (drainGate)
            while (Interlocked.Read(ref outstanding) != 0)
                Monitor.Wait(drainGate, 50);
    }

    public void Dispose()
    {
        foreach (var worker in workers.Values) worker.Stop();
    }
}

/// <summary>One group's queue and the thread that empties it.</summary>
sealed class GroupWorker
{
    readonly InMemoryTransport transport;
    readonly GroupExecutor executor;
    readonly int capacity;
    readonly object gate = new();
    readonly Thread thread;
    List<Envelope> queue = [];
    List<Envelope> batch = [];
    bool stopping;

    public GroupWorker(InMemoryTransport transport, GroupInfo group, int capacity)
    {
        this.transport = transport;
        this.capacity = capacity;
        executor = new GroupExecutor(group);
        thread = new Thread(Run) { IsBackground = true, Name = "weaving:" + group.Name };
    }

    public GroupInfo Group => executor.Group;

    public void Start() => thread.Start();

    public void Enqueue(in Envelope message, bool mayBlock)
    {
        lock (gate)
        {
            while (mayBlock && queue.Count >= capacity && !stopping)
                Monitor.Wait(gate);
            queue.Add(message);
            if (queue.Count == 1) Monitor.PulseAll(gate);
        }
    }

    public void Stop()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }
    }

    void Run()
    {
        var outgoing = new List<Envelope>();
        var failures = new List<HandlerFailure>();
        while (true)
        {
            lock (gate)
            {
                while (queue.Count == 0 && !stopping) Monitor.Wait(gate);
                if (stopping) return;
                // Take the whole queue at once: one lock per batch, not per message.
                (queue, batch) = (batch, queue);
                Monitor.PulseAll(gate);
            }
            foreach (var message in batch)
            {
                executor.Execute(message, outgoing, failures);
                foreach (var next in outgoing) transport.SendFrom(Group, next);
                outgoing.Clear();
                transport.Completed(1, failures);
                failures.Clear();
            }
            batch.Clear();
        }
    }
}
