// Mutual recursion: Odd is a stage (the source posts to it), and its last call to Even looks like a continuation; but
// Even also calls Odd synchronously and prints after it returns. Cutting Odd -> Even would let Even's caller print
// before the deeper calls did.
using System;

static class Program
{
    static void Main()
    {
        Even(7);
        Odd(3);
    }

    static void Even(int n)
    {
        if (n == 0) { Console.WriteLine("reached zero in Even"); return; }
        Odd(n - 1);
        Console.WriteLine($"back in Even({n})");
    }

    static void Odd(int n)
    {
        if (n == 0) { Console.WriteLine("reached zero in Odd"); return; }
        Console.WriteLine($"Odd({n})");
        Even(n - 1);
    }
}
