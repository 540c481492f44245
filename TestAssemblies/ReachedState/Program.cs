// State reached through a static field rather than held in it: an element of a dictionary, a field of an object, a value
// handed back through an out parameter, the element of a list being enumerated. A stage that changes it and a stage that
// reads it share that static field's state, and must fuse: run apart, the reader saw the writer's later changes.
using System;
using System.Collections.Generic;

static class Program
{
    sealed class Holder { public List<int> Items = new(); }

    static readonly Dictionary<int, List<int>> index = new() { [0] = new List<int>() };
    static readonly Holder holder = new();
    static readonly Dictionary<string, List<int>> named = new() { ["a"] = new List<int>() };
    static readonly List<List<int>> buckets = [new List<int>()];

    static readonly List<int> seenIndex = new(), seenHolder = new(), seenNamed = new(), seenBuckets = new();

    static void Main()
    {
        for (var i = 0; i < 20000; i++)
        {
            OnIndexed(i);
            OnHeld(i);
            OnNamed(i);
            OnBucketed(i);
        }
        Console.WriteLine($"index:   {string.Join(" ", seenIndex)}");
        Console.WriteLine($"holder:  {string.Join(" ", seenHolder)}");
        Console.WriteLine($"named:   {string.Join(" ", seenNamed)}");
        Console.WriteLine($"buckets: {string.Join(" ", seenBuckets)}");
    }

    static void OnIndexed(int i) { index[0].Add(i); OnIndexCount(i); }
    static void OnIndexCount(int i) { if (i % 5000 == 0) seenIndex.Add(index[0].Count); }

    static void OnHeld(int i) { holder.Items.Add(i); OnHeldCount(i); }
    static void OnHeldCount(int i) { if (i % 5000 == 0) seenHolder.Add(holder.Items.Count); }

    static void OnNamed(int i)
    {
        if (named.TryGetValue("a", out var list)) list.Add(i);
        OnNamedCount(i);
    }
    static void OnNamedCount(int i) { if (i % 5000 == 0) seenNamed.Add(named["a"].Count); }

    static void OnBucketed(int i)
    {
        foreach (var bucket in buckets) bucket.Add(i);
        OnBucketCount(i);
    }
    static void OnBucketCount(int i) { if (i % 5000 == 0) seenBuckets.Add(buckets[0].Count); }
}
