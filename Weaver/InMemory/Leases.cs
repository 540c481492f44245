namespace Weaving.InMemory;

/// <summary>
/// The claims a thread keeps between direct calls while it runs one outer piece of work: a handler that fans out to a
/// cheap group takes that group's claim on its first post and keeps it until the outer handler (or, on the source, the
/// outer inline call) returns, instead of a compare-and-swap and an exchange for every post. Meanwhile other senders
/// queue behind, as they would behind any holder; the group still runs one message at a time, in order per sender.
/// </summary>
sealed class Leases
{
    [ThreadStatic] static Leases? current;

    readonly List<GroupWorker> held = [];

    /// <summary>This thread's leases.</summary>
    public static Leases Current => current ??= new Leases();

    /// <summary>This thread's leases, or null when it never took one.</summary>
    public static Leases? CurrentIfAny => current;

    public void Add(GroupWorker group) => held.Add(group);

    /// <summary>Gives every lease back: the outer work is done.</summary>
    public void ReleaseAll()
    {
        if (held.Count == 0) return;
        foreach (var group in held) group.EndLease();
        held.Clear();
    }

    /// <summary>Gives back the leases of groups not running on this thread now: before this thread waits for room in a
    /// queue, so that nothing it waits for can be waiting for one of them.</summary>
    public void ReleaseIdle()
    {
        for (var i = held.Count - 1; i >= 0; i--)
            if (held[i].EndLeaseIfIdle())
                held.RemoveAt(i);
    }
}
