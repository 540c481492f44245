// Events through a stateless stage into a stateful one: what the fault tests of the distributed runtime break and
// restart. OnEvent touches no state (its group can run on many hosts); OnResult and OnEnd share the totals (one group,
// one active host). The totals do not depend on the order in which OnResult sees the events (hosts of a stateless
// group race each other), but count every event: one lost or counted twice shows.
//
// Arguments, all optional: [events] [fail=<event>] [big=<event>:<chars>] [work=<iterations>] [print=<every>]
//   fail=k    OnEvent throws on event k (woven: that message fails and is dead-lettered, the rest go on; unwoven, the
//             exception ends the program, so the tests give it only to the woven program)
//   big=k:n   event k carries n characters, which OnEvent doubles on their way to OnResult (a post over a size
//             limit, from the source or from a handler); may be given more than once
//   work=n    CPU iterations per event in OnEvent, to make a run last long enough for a fault to land in its middle
//   print=n   OnResult prints the running count and sum after every n-th event: a group that prints as it goes, whose
//             lines a crash must neither repeat nor lose, and whose sums show the order the events were applied in
// Without arguments it runs 2,000 events and prints the same woven and unwoven.
using System;
using System.Collections.Generic;

static class Program
{
    static long count;
    static ulong sum;
    static ulong xor;
    static long characters;

    static int Main(string[] args)
    {
        var events = args.Length > 0 ? int.Parse(args[0]) : 2000;
        int fail = -1, work = 0, printEvery = 0;
        var big = new Dictionary<int, int>();
        for (var i = 1; i < args.Length; i++)
        {
            var option = args[i];
            if (option.StartsWith("fail=", StringComparison.Ordinal)) fail = int.Parse(option.Substring(5));
            else if (option.StartsWith("work=", StringComparison.Ordinal)) work = int.Parse(option.Substring(5));
            else if (option.StartsWith("print=", StringComparison.Ordinal)) printEvery = int.Parse(option.Substring(6));
            else if (option.StartsWith("big=", StringComparison.Ordinal))
            {
                var colon = option.IndexOf(':');
                big[int.Parse(option.Substring(4, colon - 4))] = int.Parse(option.Substring(colon + 1));
            }
            else throw new ArgumentException("unknown argument " + option);
        }

        Console.WriteLine("reliable: " + events + " events");
        for (var i = 0; i < events; i++)
            OnEvent(i, big.TryGetValue(i, out var chars) ? new string('x', chars) : "", i == fail, work, printEvery);
        OnEnd();
        return 0;
    }

    // The printing interval travels with each event (not set up in a field, which would reach the group as a seed and
    // change the message counts the fault tests check).
    static void OnEvent(int id, string payload, bool fail, int work, int printEvery)
    {
        if (fail) throw new InvalidOperationException("event " + id + " is poisoned");
        OnResult(id, Mix((ulong)id, work), payload + payload, printEvery);
    }

    static void OnResult(int id, ulong value, string payload, int printEvery)
    {
        count++;
        sum += value;
        xor ^= value * 0x9E3779B97F4A7C15UL + (ulong)id;
        characters += payload.Length;
        if (printEvery > 0 && count % printEvery == 0) Console.WriteLine(count + " events so far, sum " + sum.ToString("x16"));
    }

    static void OnEnd() =>
        Console.WriteLine(count + " events, sum " + sum.ToString("x16") + ", xor " + xor.ToString("x16") + ", " + characters + " payload characters");

    // A mixing function, data-dependent so that the JIT can neither drop nor shorten the loop.
    static ulong Mix(ulong value, int iterations)
    {
        var x = value + 0x9E3779B97F4A7C15UL;
        for (var i = 0; i <= iterations; i++)
            x = (x ^ (x >> 29)) * 0xBF58476D1CE4E5B9UL + (ulong)i;
        return x;
    }
}
