using System.Runtime.CompilerServices;

namespace Weaving.InMemory;

/// <summary>
/// A thread's part in the in-memory runtime: the group running on it and the claims it keeps (<see cref="Leases"/>).
/// One thread-static object, so that a post reads the thread's state once (a thread-static read is a call on Linux).
/// </summary>
sealed class InlineThread
{
    [ThreadStatic] static InlineThread? current;

    public static InlineThread Current => current ?? Create();

    public static InlineThread? CurrentIfAny => current;

    [MethodImpl(MethodImplOptions.NoInlining)]
    static InlineThread Create() => current = new InlineThread();

    /// <summary>
    /// What runs on this thread, innermost: 0 on the source, else <see cref="Encode"/> of the group whose handler runs, as
    /// a direct call from a Post stub (inline) or under its executor on a worker. A post needs it to know its sender: the
    /// rank rule and the order per sender depend on it. A number, not a reference: a direct call writes it twice, and a
    /// reference written into an object costs a GC write barrier each time; and the sender's rank is in it, so that the
    /// rank rule reads no other object.
    /// </summary>
    public long Running;

    /// <summary>The claims this thread keeps, made on its first claim.</summary>
    public Leases? Leases;

    /// <summary>A group's worker thread: its leases end with each message it runs (see <see cref="InMemory.Leases.Sticky"/>).</summary>
    public bool IsWorker;

    /// <summary>The value of <see cref="Running"/> while a handler of group <paramref name="index"/> (of <paramref name="rank"/>) runs.</summary>
    public static long Encode(int index, int rank, bool inline) => (long)rank << 32 | (uint)(index + 1) << 1 | (inline ? 1u : 0u);

    /// <summary>The index of the group in <paramref name="running"/> (not 0).</summary>
    public static int GroupIndex(long running) => (int)((uint)running >> 1) - 1;

    /// <summary>The rank of the group in <paramref name="running"/> (not 0).</summary>
    public static int Rank(long running) => (int)(running >> 32);

    /// <summary>Whether the group in <paramref name="running"/> runs as a direct call.</summary>
    public static bool RunsInline(long running) => (running & 1) != 0;

    /// <summary>Sets what runs on this thread; returns what ran before, for <see cref="Restore"/>.</summary>
    public long Enter(long running)
    {
        var saved = Running;
        Running = running;
        return saved;
    }

    public void Restore(long saved) => Running = saved;
}
