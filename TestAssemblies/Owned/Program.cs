// Owned state: each stage keeps its own counters; nothing is shared, so every stage is a group of its own.
using System;
using System.Collections.Generic;

static class Program
{
    static long sum;                                    // owned by OnNumber
    static int count;                                   // owned by OnNumber
    static readonly List<long> squares = new();         // owned by OnSquare: readonly, but the handler adds to it
    static int evens;                                   // owned by OnSquare

    static void Main()
    {
        for (var i = 1; i <= 2000; i++)
            OnNumber(i);
        OnNumber(-1);
    }

    static void OnNumber(int n)
    {
        if (n < 0)
        {
            OnSquare(-1, $"numbers: {count}, sum {sum}");
            return;
        }
        count++;
        sum += n;
        OnSquare((long)n * n, null);
    }

    // OnSquare alone prints: the console is one resource, and stages that print are fused.
    static void OnSquare(long square, string numbers)
    {
        if (square < 0)
        {
            long total = 0;
            foreach (var s in squares) total += s;
            Console.WriteLine(numbers);
            Console.WriteLine($"squares: {squares.Count}, even {evens}, total {total}");
            return;
        }
        if (square % 2 == 0) evens++;
        squares.Add(square);
    }
}
