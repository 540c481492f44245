// The package smoke test: an event-loop program that consumes Weaver.Fody from nuget/ exactly as a user would.
// Main posts items; OnItem fans each one out into its divisors; OnTotal sums them; OnEnd prints the result.
using System;

static class Program
{
    const int ItemCount = 2_000;

    static long divisorSum;
    static int divisorCount;

    static int Main()
    {
        for (var n = 1; n <= ItemCount; n++)
            OnItem(n);
        OnEnd();
        return 0;
    }

    static void OnItem(int n)
    {
        for (var d = 1; d <= n; d++)
            if (n % d == 0)
                OnTotal(d);
    }

    static void OnTotal(int divisor)
    {
        divisorCount++;
        divisorSum += divisor;
    }

    static void OnEnd()
    {
        Console.WriteLine($"{ItemCount} items, {divisorCount} divisors, sum {divisorSum}");
    }
}
