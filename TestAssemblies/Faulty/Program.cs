// A pipeline whose handler throws on one event: woven, that one message fails, the rest go through,
// and the run ends with a non-zero exit code. (Unwoven, the first exception ends the program: not a differential fixture.)
using System;

static class Program
{
    static long sum;
    static int seen;

    static void Main()
    {
        for (var i = 1; i <= 100; i++)
            OnNumber(i);
        OnEnd();
    }

    static void OnNumber(int n)
    {
        if (n == 13) throw new InvalidOperationException("thirteen is unlucky");
        OnSquare(n * n);
    }

    static void OnSquare(int square)
    {
        seen++;
        sum += square;
    }

    static void OnEnd() => Console.WriteLine($"{seen} squares, sum {sum}");
}
