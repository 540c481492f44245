// The examples of docs/design.md §2, each in a handler of its own, plus the shapes the rule must handle:
// branches, switches, fan-outs over arrays, lists, iterators and for loops, computed arguments, overloads,
// calls from property accessors and local functions. Every result goes to OnResult; OnReport prints them.
using System;
using System.Collections.Generic;

static class Program
{
    static readonly List<string> results = new();        // OnResult and OnReport: fused
    static int lines;                                    // owned by OnCountedLine
    static int characters;                               // owned by OnCountedLine
    static int level;                                    // written through a property by OnSetLevel

    static int Level
    {
        get => level;
        set
        {
            level = value;
            OnResult("level " + value);                    // in an accessor: synchronous
        }
    }

    static void Main()
    {
        OnTail(1);
        OnFanOut("The Quick brown FOX");
        OnCountedLine("one two three");
        OnFanOutThenEnd("a b");
        OnBranch(3);
        OnBranch(4);
        OnSwitch(0);
        OnSwitch(1);
        OnSwitch(7);
        OnArray(new[] { 5, 6, 7 });
        OnList(new List<string> { "x", "y" });
        OnIterator(3);
        OnForLoop(4);
        OnComputed(6, "six");
        OnOverload(8);
        OnOverload("eight");
        OnSetLevel(9);
        OnLocalFunction(2);
        OnThenPrint(10);
        OnReport();
    }

    // Must be continuations.
    static void OnTail(int x) => OnResult("tail " + (x + 1));

    static void OnFanOut(string line)
    {
        foreach (var w in line.Split(' ')) OnWord(w.ToLowerInvariant());
    }

    static void OnCountedLine(string line)
    {
        lines++;
        foreach (var w in line.Split(' ')) OnWord(w);
        characters += line.Length;
        OnResult($"counted {lines} {characters}");
    }

    static void OnFanOutThenEnd(string line)
    {
        foreach (var w in line.Split(' ')) OnWord(w);
        OnEnd();
    }

    static void OnBranch(int n)
    {
        if (n % 2 == 0) OnEven(n);
        else OnOdd(n);
    }

    static void OnSwitch(int n)
    {
        switch (n)
        {
            case 0: OnResult("switch zero"); break;
            case 1: OnEven(n * 10); break;
            default: OnOdd(n); break;
        }
    }

    static void OnArray(int[] values)
    {
        foreach (var v in values) OnResult("array " + v);
    }

    static void OnList(List<string> items)
    {
        foreach (var item in items) OnWord(item);
    }

    static void OnIterator(int n)
    {
        foreach (var s in Squares(n)) OnResult("square " + s);
    }

    static void OnForLoop(int n)
    {
        for (var i = 0; i < n; i++) OnResult("for " + i * i);
    }

    static void OnComputed(int n, string name) => OnPair(n * 2 + 1, $"{name}-{name.Length}");

    static void OnOverload(int n) => OnResult("overload int " + n);

    static void OnOverload(string s) => OnResult("overload string " + s);

    // Not cut where they stand: the calls in the accessor and in the local function are synchronous code.
    static void OnSetLevel(int n) => Level = n;

    static void OnLocalFunction(int n)
    {
        Emit(n);
        Emit(n + 1);

        static void Emit(int k) => OnResult("local " + k);
    }

    // Must not be a continuation: the call is followed by Console.WriteLine, and the handler prints too.
    static void OnThenPrint(int n)
    {
        OnPrinted("then print " + n);
        Console.WriteLine("printed after the call");
    }

    static void OnWord(string w) => OnResult("word " + w);

    static void OnEnd() => OnResult("end");

    static void OnEven(int n) => OnResult("even " + n);

    static void OnOdd(int n) => OnResult("odd " + n);

    static void OnPair(int n, string s) => OnResult($"pair {n} {s}");

    static IEnumerable<int> Squares(int n)
    {
        for (var i = 1; i <= n; i++) yield return i * i;
    }

    static void OnResult(string result) => results.Add(result);

    static void OnReport()
    {
        Console.WriteLine($"{results.Count} results");
        foreach (var r in results) Console.WriteLine(r);
    }

    static void OnPrinted(string text) => Console.WriteLine(text);
}
