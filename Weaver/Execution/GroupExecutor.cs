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

    // Frames are pooled: one per handler call would allocate on every message.
    readonly Stack<Frame> pool = new();
    readonly Stack<(List<Envelope> Items, int Next, Frame Owner)> pending = new();

    public GroupInfo Group { get; } = group;

    /// <summary>The group whose handler runs on this thread, or null outside any handler.</summary>
    public static GroupInfo? CurrentGroup => current?.Executor.Group;

    /// <summary>
    /// Runs <paramref name="root"/> and, depth first, every post made to this group along the way.
    /// Appends posts to other groups to <paramref name="outgoing"/> and failed handlers to <paramref name="failures"/>.
    /// </summary>
    public void Execute(in Envelope root, List<Envelope> outgoing, List<HandlerFailure> failures)
    {
        if (root.Stage.Group != Group)
            throw new InvalidOperationException($"message for stage {root.Stage.Name} (group {root.Stage.Group.Name}) given to group {Group.Name}.");
        RunOne(root, outgoing, failures);
        while (pending.Count > 0)
        {
            var (items, next, owner) = pending.Pop();
            var message = items[next];
            if (next + 1 < items.Count) pending.Push((items, next + 1, owner));
            else Return(owner);
            RunOne(message, outgoing, failures);
        }
    }

    void RunOne(in Envelope message, List<Envelope> outgoing, List<HandlerFailure> failures)
    {
        var frame = pool.Count > 0 ? pool.Pop() : new Frame(this);
        frame.Id = message.Id;
        var previous = current;
        current = frame;
        bool ok;
        try
        {
            message.Message.Invoke();
            ok = true;
        }
        catch (Exception e)
        {
            ok = false;
            failures.Add(new HandlerFailure(message, e));
        }
        finally
        {
            current = previous;
        }

        if (ok) outgoing.AddRange(frame.Remote);
        if (ok && frame.Local.Count > 0) pending.Push((frame.Local, 0, frame));
        else Return(frame);
    }

    void Return(Frame frame)
    {
        frame.Local.Clear();
        frame.Remote.Clear();
        frame.Posts = 0;
        pool.Push(frame);
    }

    /// <summary>Records a post made by the handler running on this thread; false when no handler runs here.</summary>
    internal static bool TryPost(StageInfo stage, StageMessage message)
    {
        var frame = current;
        if (frame is null) return false;
        var envelope = new Envelope(stage, message, frame.Id.Child(frame.Posts++));
        (stage.Group == frame.Executor.Group ? frame.Local : frame.Remote).Add(envelope);
        return true;
    }

    sealed class Frame(GroupExecutor executor)
    {
        public readonly GroupExecutor Executor = executor;
        public readonly List<Envelope> Local = [];
        public readonly List<Envelope> Remote = [];
        public MessageId Id;
        public int Posts;
    }
}
