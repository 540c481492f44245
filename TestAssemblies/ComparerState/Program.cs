// A group's state the message codec cannot write: a dictionary made with a comparer of its own, which the source reads
// after its feed (found weaving programs nobody wrote for the weaver). In memory nothing is written, and it prints what
// it prints unwoven. Across processes the group's host cannot send it back: the source must fail the run saying why,
// not wait for ever (it did, after the host stopped on the exception). Not a differential fixture for that reason.
using System;
using System.Collections.Generic;

static class Program
{
    static readonly Dictionary<string, int> counts = new(StringComparer.OrdinalIgnoreCase);

    static void Main()
    {
        string[] words = ["Apple", "apple", "APPLE", "pear", "Pear", "fig"];
        foreach (var word in words) OnWord(word);
        foreach (var (word, count) in counts) Console.WriteLine($"{word} {count}");
        Console.WriteLine(counts.ContainsKey("FIG"));
    }

    static void OnWord(string word) => counts[word] = counts.GetValueOrDefault(word) + 1;
}
