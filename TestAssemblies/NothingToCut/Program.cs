// An ordinary program with nothing to cut: its only handler call is inside a try block with a catch, so the weaver
// leaves the assembly as it is (WEAV010, then WEAV004) and does not even keep a reference to Weaver.dll.
using System;

static class Program
{
    static void Main()
    {
        try
        {
            for (var i = 0; i < 5; i++) Work(i);
        }
        catch (InvalidOperationException e)
        {
            Console.WriteLine("stopped: " + e.Message);
        }
    }

    static void Work(int i)
    {
        Check(i);
        Console.WriteLine("worked " + i);
    }

    static void Check(int i)
    {
        if (i == 3) throw new InvalidOperationException("three");
    }
}
