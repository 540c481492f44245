namespace Weaving.Execution;

/// <summary>
/// Runs the messages of one stage group, one at a time, on whichever thread calls it (a worker in memory, a consumer in
/// the host). A handler's posts to its own group run here, depth first, right after it returns: that is the order the
/// unwoven program called them in. Its posts to other groups are handed back in order, for the transport to send.
/// A handler runs atomically: if it throws, the message fails and everything it posted is discarded.
/// </summary>
public sealed class GroupExecutor(GroupInfo group)
{
    [ThreadStatic] static Frame? current;

    // Frames are pooled: one per handler call would allocate on every message. A frame whose posts to this group wait
    // to run is pending, with the index of the next one (Frame.Next). Stacks of a class: their code is precompiled, where
    // a stack of tuples would be compiled at start-up (see EnvelopeList).
    readonly Stack<Frame> pool = new();
    readonly Stack<Frame> pending = new();

    public GroupInfo Group { get; } = group;

    /// <summary>
    /// Times a handler that throws is run again, in place, before its message fails (0, the default: fail at once).
    /// In place keeps the order of everything the group sends.
    /// </summary>
    public int Retries { get; init; }

    /// <summary>Called before each retry with the message, what the failed attempt threw, and the retry's number (from 1).</summary>
    public Action<Envelope, Exception, int>? Retrying { get; init; }

    /// <summary>The group whose handler runs on this thread, or null outside any handler.</summary>
    public static GroupInfo? CurrentGroup => current?.Executor.Group;

    /// <summary>
    /// Runs <paramref name="root"/> and, depth first, every post made to this group along the way.
    /// Appends posts to other groups to <paramref name="outgoing"/> and failed handlers to <paramref name="failures"/>.
    /// </summary>
    public void Execute(in Envelope root, EnvelopeList outgoing, List<HandlerFailure> failures)
    {
        if (root.Stage.Group != Group)
            throw new InvalidOperationException($"message for stage {root.Stage.Name} (group {root.Stage.Group.Name}) given to group {Group.Name}.");
        RunOne(root, outgoing, failures);
        while (pending.Count > 0)
        {
            var owner = pending.Peek();
            var message = owner.Local[owner.Next++];
            if (owner.Next == owner.Local.Count)
            {
                pending.Pop();
                Return(owner);
            }
            RunOne(message, outgoing, failures);
        }
    }

    void RunOne(in Envelope message, EnvelopeList outgoing, List<HandlerFailure> failures)
    {
        var frame = pool.Count > 0 ? pool.Pop() : new Frame(this);
        frame.Id = message.Id;
        // Posts to other groups go straight to the caller's list; a handler that throws takes them back.
        frame.Remote = outgoing;
        var sentBefore = outgoing.Count;
        var previous = current;
        current = frame;
        var ok = false;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    message.Message.Invoke();
                    ok = true;
                    break;
                }
                catch (Exception e) when (attempt <= Retries)
                {
                    // Run it again as if for the first time: what the failed attempt posted is discarded, and the posts of
                    // the next attempt get the same ids.
                    outgoing.RemoveFrom(sentBefore);
                    frame.Local.Clear();
                    frame.Posts = 0;
                    Retrying?.Invoke(message, e, attempt);
                }
                catch (Exception e)
                {
                    failures.Add(new HandlerFailure(message, e) { Attempts = attempt });
                    break;
                }
            }
        }
        finally
        {
            current = previous;
        }

        if (!ok) outgoing.RemoveFrom(sentBefore);
        if (ok && frame.Local.Count > 0) pending.Push(frame);
        else Return(frame);
    }

    void Return(Frame frame)
    {
        if (frame.Local.Count > 0) frame.Local.Clear();
        frame.Remote = null;
        frame.Posts = 0;
        frame.Next = 0;
        pool.Push(frame);
    }

    /// <summary>Records a post made by the handler running on this thread; false when no handler runs here.</summary>
    internal static bool TryPost(StageInfo stage, StageMessage message)
    {
        var frame = current;
        if (frame is null) return false;
        var envelope = new Envelope(stage, message, frame.Id.Child(frame.Posts++));
        (stage.Group == frame.Executor.Group ? frame.Local : frame.Remote!).Add(envelope);
        return true;
    }

    sealed class Frame(GroupExecutor executor)
    {
        public readonly GroupExecutor Executor = executor;
        public readonly EnvelopeList Local = new();
        public EnvelopeList? Remote;
        public MessageId Id;
        public int Posts;
        // Pending: the index in Local of the next post to run.
        public int Next;
    }
}
