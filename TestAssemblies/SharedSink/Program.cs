// Two stages, Left and Right, post to one sink. Once their work pays for a hop each runs on its own worker, so the
// sink has callers on different threads; while they are cheap they run inline, on the source's thread. The work per
// event rises and falls over the run (cheap, expensive, cheap) so that the runtime's decisions change in the middle.
// The sink checks the ordering contract itself: that it never runs twice at once, and that each sender's events arrive
// in the order sent. Every hundredth event starts a chain of 100 posts from the sink to its own group.
//
// Arguments: [events] [work], work being the loop iterations of an expensive event (the cheap ones do none).
using System;

static class Program
{
    // Owned by the sink's group (OnSink, OnChain and OnEnd share them).
    static long lastLeft = -1, lastRight = -1;
    static ulong leftHash, rightHash;
    static int inside, overlaps, outOfOrder;
    static long total;

    static int Main(string[] args)
    {
        var events = args.Length > 0 ? int.Parse(args[0]) : 3000;
        var work = args.Length > 1 ? int.Parse(args[1]) : 20000;
        for (var i = 0; i < events; i++)
        {
            var expensive = i >= events / 3 && i < 2 * events / 3;
            OnLeft(i, expensive ? work : 0);
            OnRight(i, expensive ? work : 0);
        }
        OnEnd();
        return 0;
    }

    static void OnLeft(long seq, int work) => OnSink(0, seq, Spin((ulong)seq, work));

    static void OnRight(long seq, int work) => OnSink(1, seq, Spin((ulong)seq + 1, work));

    static void OnSink(int side, long seq, ulong value)
    {
        if (inside++ != 0) overlaps++;
        if (side == 0)
        {
            if (seq <= lastLeft) outOfOrder++;
            lastLeft = seq;
            leftHash = leftHash * 31 + Spin(value, 50);
        }
        else
        {
            if (seq <= lastRight) outOfOrder++;
            lastRight = seq;
            rightHash = rightHash * 31 + Spin(value, 50);
        }
        total++;
        inside--;
        if (side == 0 && seq % 100 == 0) OnChain(100);
    }

    static void OnChain(int left)
    {
        total++;
        if (left > 0) OnChain(left - 1);
    }

    static void OnEnd() =>
        Console.WriteLine($"left up to {lastLeft} hash {leftHash:x16}, right up to {lastRight} hash {rightHash:x16}, " +
                          $"{total} sink and chain messages, {overlaps} overlaps, {outOfOrder} out of order");

    static ulong Spin(ulong value, int iterations)
    {
        var x = value + 0x9E37_79B9_7F4A_7C15UL;
        for (var i = 0; i < iterations; i++)
            x = (x ^ (x >> 29)) * 0xBF58_476D_1CE4_E5B9UL + (ulong)i;
        return x;
    }
}
