// An ordinary program, not written for Weaving, with try/catch around its work: the calls inside the try blocks stay
// synchronous, so a failure is still caught where the unwoven program caught it.
using System;
using System.Collections.Generic;

static class Program
{
    static readonly List<string> done = new();
    static int failures;

    static void Main()
    {
        try
        {
            for (var i = 0; i < 12; i++) Work(i);
        }
        catch (Exception e)
        {
            Console.WriteLine("stopped: " + e.Message);
        }
        Finish();
    }

    static void Work(int i)
    {
        try
        {
            Check(i);
            done.Add("ok " + i);
        }
        catch (ArgumentException e)
        {
            failures++;
            done.Add("failed " + i + ": " + e.Message);
        }
        if (i == 10) throw new InvalidOperationException("ten is too many");
    }

    static void Check(int i)
    {
        if (i % 4 == 3) throw new ArgumentException("not " + i);
    }

    static void Finish()
    {
        Console.WriteLine($"{done.Count} done, {failures} failures");
        foreach (var d in done) Console.WriteLine(d);
    }
}
