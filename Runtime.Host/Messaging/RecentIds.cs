namespace Weaving.Host.Messaging;

/// <summary>
/// The last <c>capacity</c> message ids a group ran: a message delivered again (a parent run twice republishes its
/// children with the same ids) is acknowledged without running twice. Bounded: the oldest id is forgotten first.
/// </summary>
public sealed class RecentIds(int capacity)
{
    readonly HashSet<MessageId> set = new(Math.Min(capacity, 1 << 16));
    readonly Queue<MessageId> order = new();

    /// <summary>True when <paramref name="id"/> was not in the window; it is now.</summary>
    public bool Add(MessageId id)
    {
        if (capacity <= 0) return true;
        if (!set.Add(id)) return false;
        order.Enqueue(id);
        if (order.Count > capacity) set.Remove(order.Dequeue());
        return true;
    }

    public bool Contains(MessageId id) => set.Contains(id);

    /// <summary>Forgets every id, then remembers <paramref name="ids"/> (a group that went on from a checkpoint).</summary>
    public void Reset(IEnumerable<MessageId> ids)
    {
        set.Clear();
        order.Clear();
        foreach (var id in ids) Add(id);
    }
}
