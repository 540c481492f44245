// The third habit: a call kept synchronous for a reason of its own must not drag the others along. Audit is [Inline]
// (it must run in the source), but it touches nothing the handlers touch, so the feed's calls stay cut; Banner prints
// while the handlers print nothing, so it does not hold them back either.
using System;
using Weaving;

static class Program
{
    static int audited;
    static long sum;
    static long squares;

    static void Main()
    {
        Banner("start");
        for (var i = 1; i <= 2000; i++)
        {
            OnNumber(i);
            Audit(i);
        }
        Banner("fed");
        OnEnd();
    }

    static void Banner(string text) => Console.WriteLine($"== {text} ({audited} audited) ==");

    [Inline]
    static void Audit(int i) => audited++;

    static void OnNumber(int i)
    {
        sum += i;
        OnSquare((long)i * i);
    }

    static void OnSquare(long s) => squares += s;

    static void OnEnd() => Console.WriteLine($"sum {sum}, squares {squares}");
}
