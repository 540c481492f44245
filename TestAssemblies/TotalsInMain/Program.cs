// The second habit: Main prints the totals itself after the feed, reading fields that the handlers update. The
// handlers are stages; Main waits for their work before it reads (and, across processes, fetches their state).
using System;
using System.Collections.Generic;
using System.Linq;

static class Program
{
    static long events;
    static long bytes;
    static readonly Dictionary<string, int> byKind = new();

    static void Main()
    {
        Console.WriteLine("reading events");
        for (var i = 0; i < 5000; i++)
            OnEvent(i % 3 == 0 ? "click" : i % 3 == 1 ? "view" : "scroll", 100 + i % 17);
        Console.WriteLine($"{events} events, {bytes} bytes");
        foreach (var (kind, n) in byKind.OrderBy(p => p.Key, StringComparer.Ordinal))
            Console.WriteLine($"  {kind}: {n}");
    }

    static void OnEvent(string kind, int size)
    {
        events++;
        OnSized(kind, size * 2);
    }

    static void OnSized(string kind, int size)
    {
        bytes += size;
        byKind[kind] = byKind.TryGetValue(kind, out var n) ? n + 1 : 1;
    }
}
