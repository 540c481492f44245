// A stage entered both ways: the source posts to OnB, and OnA also calls OnB synchronously and prints after it. OnB's
// post to OnC is fine when OnB runs as a stage, but not inside OnA: there, OnC must print before OnA goes on.
using System;

static class Program
{
    static void Main()
    {
        for (var i = 1; i <= 3; i++)
            OnA(i);
        OnB(100);
    }

    static void OnA(int x)
    {
        OnB(x);
        Console.WriteLine($"A {x}");
    }

    static void OnB(int x)
    {
        Console.WriteLine($"B {x}");
        OnC(x * 10);
    }

    static void OnC(int y) => Console.WriteLine($"C {y}");
}
