// An event-loop word count: each handler reacts to one event and hands its output to the next.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

static class Program
{
    static readonly char[] Separators = { ' ', '\t', ',', '.', ';', ':', '!', '?', '"', '(', ')' };
    static readonly Dictionary<string, int> counts = new();
    static int words;

    static int Main(string[] args)
    {
        var input = args.Length > 0 ? File.ReadLines(args[0]) : GenerateText(20_000);
        foreach (var line in input)
            OnLine(line);
        OnEnd();
        return 0;
    }

    // The source of text when no file is given: deterministic, so woven and unwoven runs compare.
    static IEnumerable<string> GenerateText(int lineCount)
    {
        string[] vocabulary = { "pipeline", "stage", "event", "loop", "handler", "message", "state", "worker", "queue", "broker", "weave", "static" };
        var random = new Random(42);
        for (var i = 0; i < lineCount; i++)
        {
            var n = 5 + random.Next(10);
            var picked = new string[n];
            for (var j = 0; j < n; j++) picked[j] = vocabulary[random.Next(vocabulary.Length)];
            yield return string.Join(' ', picked);
        }
    }

    static void OnLine(string line)
    {
        foreach (var word in line.Split(Separators, StringSplitOptions.RemoveEmptyEntries))
            OnWord(word.ToLowerInvariant());
    }

    static void OnWord(string word)
    {
        words++;
        counts[word] = counts.TryGetValue(word, out var n) ? n + 1 : 1;
    }

    static void OnEnd()
    {
        Console.WriteLine($"{counts.Count} distinct words, {words} words");
        foreach (var (word, n) in counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(10))
            Console.WriteLine($"{n,8} {word}");
    }
}
