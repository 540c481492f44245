// An ordinary program, not written for Weaving, that prints as it goes: each step prints, then hands on.
// The console is one resource: stages that print keep the order in which the unwoven program printed.
using System;

static class Program
{
    static int processed;

    static void Main()
    {
        Console.WriteLine("start");
        for (var i = 0; i < 20; i++)
            Process(i);
    }

    static void Process(int i)
    {
        processed++;
        Console.WriteLine($"processing {i} ({processed})");
        if (i % 5 == 0) Report(i);
        else Step(i * 2);
    }

    static void Step(int x) => Console.WriteLine($"  step {x}");

    static void Report(int i)
    {
        Console.WriteLine($"  report at {i}");
        Step(-i);
    }
}
