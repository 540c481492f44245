namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// What the woven program's own code costs with a runtime that costs nothing: each continuation allocates its message
/// object (as the weaver's Post stubs do, with the same fields) and calls the handler through a virtual Invoke, on one
/// thread, nothing else. No real runtime can be faster than this; at W = 0 it bounds what the woven program can reach
/// against the unwoven one, whose three handlers the JIT inlines into Main's loop.
/// </summary>
public static class MessagesOnly
{
    abstract class Message
    {
        public abstract void Invoke();
    }

    sealed class ParseMessage(long id, int work) : Message
    {
        public override void Invoke() => Post(new EnrichMessage(id, StageWork.Run((ulong)id, work), work));
    }

    sealed class EnrichMessage(long id, ulong value, int work) : Message
    {
        public override void Invoke() => Post(new AggregateMessage(id, StageWork.Run(value, work), work));
    }

    sealed class AggregateMessage(long id, ulong value, int work) : Message
    {
        public override void Invoke() => checksum = StageWork.Fold(checksum, id, value, work);
    }

    static ulong checksum;

    // Not inlined: a post is a call into the runtime.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void Post(Message message) => message.Invoke();

    public static ulong Run(int events, int work)
    {
        checksum = 0;
        for (var i = 0; i < events; i++) Post(new ParseMessage(i, work));
        return checksum;
    }
}
