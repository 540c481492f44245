// Cycles: OnCollatz continues into itself until it reaches 1; OnPing and OnPong continue into each other.
// Both are stages; the results are collected by OnResult and printed at the end.
using System;
using System.Collections.Generic;

static class Program
{
    static readonly List<string> results = new();        // owned by OnResult

    static void Main()
    {
        for (var start = 1; start <= 60; start++) OnCollatz(start, start, 0);
        OnPing(0, 25);
        OnResult(null);
    }

    static void OnCollatz(long start, long n, int steps)
    {
        if (n == 1) OnResult($"{start}:{steps}");
        else if (n % 2 == 0) OnCollatz(start, n / 2, steps + 1);
        else OnCollatz(start, 3 * n + 1, steps + 1);
    }

    static void OnPing(int hits, int left)
    {
        if (left == 0) OnResult("ping " + hits);
        else OnPong(hits + 1, left - 1);
    }

    static void OnPong(int hits, int left) => OnPing(hits * 2 % 1000, left);

    static void OnResult(string result)
    {
        if (result is null)
        {
            Console.WriteLine($"{results.Count} results");
            Console.WriteLine(string.Join(" ", results));
            return;
        }
        results.Add(result);
    }
}
