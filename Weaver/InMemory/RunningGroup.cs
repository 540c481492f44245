namespace Weaving.InMemory;

/// <summary>
/// What runs on this thread, innermost first: the group whose handler is running (null on the source), and whether it
/// runs as a direct call from a Post stub (inline) or under its <see cref="Execution.GroupExecutor"/> on a worker.
/// A post needs it to know its sender: the rank rule and the order per sender depend on it. One thread-static reference
/// (to one of the group's two <see cref="Running"/> values), so that a post reads it once.
/// </summary>
static class RunningGroup
{
    [ThreadStatic] static Running? current;

    public static Running? Current => current;

    public static Running? Enter(Running running)
    {
        var saved = current;
        current = running;
        return saved;
    }

    public static void Restore(Running? saved) => current = saved;
}

/// <summary>A group running on a thread, inline or under its executor.</summary>
sealed class Running(GroupWorker group, bool inline)
{
    public readonly GroupWorker Group = group;
    public readonly bool Inline = inline;
}
