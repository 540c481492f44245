namespace Weaving.InMemory;

/// <summary>
/// The claims a thread keeps between direct calls, instead of a compare-and-swap and an exchange for every post: a
/// handler that fans out to a cheap group takes that group's claim on its first post and keeps it until the outer
/// handler returns; a source thread (any thread that is not a group's worker) keeps its claims from one post to the
/// next, so that its steady state is plain reads and writes (<see cref="Sticky"/>). Meanwhile other senders queue
/// behind, as they would behind any holder; the group still runs one message at a time, in order per sender. A group's
/// worker that finds its claim kept by a source thread takes it back (<see cref="GroupWorker"/>: the lease is revoked).
/// </summary>
sealed class Leases(int groups, bool sticky)
{
    readonly List<GroupWorker> held = [];

    /// <summary>
    /// Per group (by <see cref="GroupWorker.Index"/>), 1 while this thread runs a handler of it under its lease. Written
    /// only by this thread; a worker revoking the lease reads it after a process-wide barrier, so that the owner's
    /// post needs no fence (see <see cref="GroupWorker.TryRevokeLease"/>).
    /// </summary>
    public readonly int[] Busy = new int[groups];

    /// <summary>
    /// True on a source thread: its leases outlive the call that took them, until it drains, waits for room in a queue,
    /// sees others' messages queued for the group, or a worker revokes them. False on a worker, whose leases end with
    /// each message.
    /// </summary>
    public readonly bool Sticky = sticky;

    /// <summary>Set when this thread leased a group that was revoked lately: its leases end with the outer call.</summary>
    public bool EndWithCall;

    public void Add(GroupWorker group)
    {
        // A revoked lease stays listed until the next release: a group is listed once.
        if (!held.Contains(group)) held.Add(group);
    }

    /// <summary>Gives every lease back: the outer work is done, or this thread is about to wait.</summary>
    public void ReleaseAll()
    {
        EndWithCall = false;
        if (held.Count == 0) return;
        foreach (var group in held) group.EndLease(this);
        held.Clear();
    }

    /// <summary>Gives back the leases of groups not running on this thread now: before this thread waits for room in a
    /// queue, so that nothing it waits for can be waiting for one of them.</summary>
    public void ReleaseIdle()
    {
        for (var i = held.Count - 1; i >= 0; i--)
            if (held[i].EndLeaseIfIdle(this))
                held.RemoveAt(i);
    }
}
