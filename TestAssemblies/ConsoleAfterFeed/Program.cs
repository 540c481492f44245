// The handlers print as they go, and Main prints a summary of its own after the feed: the woven source waits for the
// handlers' work before it prints, so its lines come after theirs, as unwoven.
using System;

static class Program
{
    static void Main()
    {
        Console.WriteLine("checking 12 values");
        for (var i = 1; i <= 12; i++)
            OnValue(i);
        Console.WriteLine("checked 12 values");
        Console.WriteLine("done");
    }

    static void OnValue(int value)
    {
        if (value % 4 == 0) OnMultiple(value);
    }

    static void OnMultiple(int value) => Console.WriteLine($"  {value} is a multiple of 4");
}
