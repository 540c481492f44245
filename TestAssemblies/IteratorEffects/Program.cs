// Feeds whose enumerator runs code of the program between the items it hands to a handler (found weaving programs
// nobody wrote for the weaver): an iterator that prints as it reads, one that sets a field the handler reads, an
// enumerator class of the program, a LINQ lambda that prints. Moving the enumerator on runs that code after each post,
// so those posts stay synchronous (WEAV011); a feed whose iterator touches nothing the handler does is still cut.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

sealed class Countdown : IEnumerable<int>
{
    readonly int from;
    public Countdown(int from) => this.from = from;
    public IEnumerator<int> GetEnumerator() => new Ticker(from);
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    sealed class Ticker(int from) : IEnumerator<int>
    {
        int left = from + 1;
        public int Current => left;
        object IEnumerator.Current => left;
        public bool MoveNext()
        {
            Program.cursor = --left;
            return left > 0;
        }
        public void Reset() { }
        public void Dispose() => Console.WriteLine("countdown closed");
    }
}

static class Program
{
    internal static int cursor;
    static int position;
    static long pureTotal;

    static IEnumerable<int> Reading(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Console.WriteLine("read " + i);
            yield return i;
        }
        Console.WriteLine("reading done");
    }

    static IEnumerable<int> Positioned(int count)
    {
        for (var i = 0; i < count; i++)
        {
            position = i * 10;
            yield return i;
        }
    }

    static IEnumerable<int> Pure(int count)
    {
        for (var i = 0; i < count; i++) yield return i * i;
    }

    static void Main()
    {
        foreach (var x in Reading(4)) OnRead(x);
        foreach (var x in Positioned(4)) OnPositioned(x);
        foreach (var x in new Countdown(3)) OnTick(x);
        foreach (var x in Enumerable.Range(0, 3).Select(r => { Console.WriteLine("map " + r); return r * 2; })) OnMapped(x);
        foreach (var x in Pure(1000)) OnPure(x);
        OnEnd();
    }

    static void OnRead(int x) => Console.WriteLine("item " + x);

    static void OnPositioned(int x) => Console.WriteLine($"item {x} at {position}");

    static void OnTick(int x) => Console.WriteLine($"tick {x}, cursor {cursor}");

    static void OnMapped(int x) => Console.WriteLine("mapped " + x);

    static void OnPure(int x) => pureTotal += x;

    static void OnEnd() => Console.WriteLine("pure total " + pureTotal);
}
