namespace Weaving.InMemory;

/// <summary>
/// What runs on this thread, innermost first: the group whose handler is running (null on the source), and whether it
/// runs as a direct call from a Post stub (inline) or under its <see cref="Execution.GroupExecutor"/> on a worker.
/// A post needs it to know its sender: the rank rule and the order per sender depend on it.
/// </summary>
static class RunningGroup
{
    [ThreadStatic] static GroupWorker? current;
    [ThreadStatic] static bool inline;

    public static GroupWorker? Current => current;

    /// <summary>The innermost handler on this thread was called directly by a Post stub, not by an executor.</summary>
    public static bool Inline => inline;

    public static (GroupWorker? Group, bool Inline) Enter(GroupWorker group, bool asInline)
    {
        var saved = (current, inline);
        current = group;
        inline = asInline;
        return saved;
    }

    public static void Restore((GroupWorker? Group, bool Inline) saved) => (current, inline) = saved;
}
