// A library with no entry point: only the [Stage] method is cut, wherever it is called from; [Inline] keeps a call
// synchronous, and nothing else is touched.
using System.Collections.Generic;
using System.Linq;
using Weaving;

public static class Inventory
{
    static readonly Dictionary<string, int> stock = new();
    static int moves;

    public static void Receive(string item, int count)
    {
        for (var i = 0; i < count; i++) OnMove(item, 1);
    }

    public static void Ship(string item, int count) => OnMove(item, -count);

    [Stage]
    static void OnMove(string item, int delta)
    {
        stock[item] = stock.TryGetValue(item, out var n) ? n + delta : delta;
        Count();
    }

    [Inline]
    static void Count() => moves++;

    // Not a stage: a library's ordinary static void methods are left alone.
    public static void Reset() => Clear();

    static void Clear()
    {
        stock.Clear();
        moves = 0;
    }

    public static string Report()
    {
        Pipeline.Drain();
        return $"{moves} moves; " + string.Join(", ", stock.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}"));
    }
}
