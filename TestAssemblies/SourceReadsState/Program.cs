// The source reads state that a handler changes: the handler stays a synchronous call of the source, with a
// warning that suggests moving the read into a handler called at the end. OnSummary is still a stage.
using System;

static class Program
{
    static long total;                                   // changed by OnValue, read by the source

    static void Main()
    {
        for (var i = 0; i < 1000; i++)
            OnValue(i);
        OnSummary(total, 1000);
    }

    static void OnValue(int value) => total += value * (long)value;

    static void OnSummary(long sum, int count) => Console.WriteLine($"{count} values, sum of squares {sum}");
}
