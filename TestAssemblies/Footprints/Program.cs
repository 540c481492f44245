// Footprints follow synchronous calls: helpers, property accessors, nested and generic types, local functions.
// Every field below is reached by exactly one stage through one of those, so each is owned by that stage. At the end
// each stage adds its own count to the report and hands it on; OnPrint prints it.
using System;

static class Program
{
    static void Main()
    {
        for (var i = 0; i < 100; i++)
        {
            OnHelper(i, null);
            OnProperty(i, null);
            OnNested(i, null);
            OnGeneric(i, null);
            OnLocal(i, null);
        }
        OnHelper(-1, "report:");
    }

    static int helped;                                   // OnHelper, through the helper Bump
    static void OnHelper(int i, string report)
    {
        if (i < 0) OnProperty(i, report + " helped " + helped);
        else _ = Bump(i);
    }

    static int Bump(int i) => helped += i;

    static int tally;                                    // OnProperty, through the Tally property
    static int Tally { get => tally; set => tally = value; }
    static void OnProperty(int i, string report)
    {
        if (i < 0) OnNested(i, report + " tally " + Tally);
        else Tally += i % 3;
    }

    static class Nested                                  // OnNested, through a nested type
    {
        public static class Inner
        {
            public static int Count;
            public static int Add(int i) => Count += i % 5;
        }
    }
    static void OnNested(int i, string report)
    {
        if (i < 0) OnGeneric(i, report + " nested " + Nested.Inner.Count);
        else _ = Nested.Inner.Add(i);
    }

    static class Cache<T>                                // OnGeneric, through a generic type
    {
        public static int Hits;
        public static int Hit() => ++Hits;
    }
    static void OnGeneric(int i, string report)
    {
        if (i < 0) OnLocal(i, report + $" generic {Cache<int>.Hits}+{Cache<string>.Hits}");
        else if (i % 2 == 0) _ = Cache<int>.Hit();
        else _ = Cache<string>.Hit();
    }

    static int local;                                    // OnLocal, through a local function
    static void OnLocal(int i, string report)
    {
        if (i < 0)
        {
            OnPrint(report + " local " + local);
            return;
        }
        Add(i);
        void Add(int k) => local += k;
    }

    static void OnPrint(string text) => Console.WriteLine(text);
}
