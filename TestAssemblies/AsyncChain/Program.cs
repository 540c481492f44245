// The event loop as modern C# writes it: an async Main reading its input with awaits, async handlers that await the
// next one, a handler with awaits of its own inside (I/O stand-ins), a ValueTask handler, and a discarded task.
using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;

static class Program
{
    const string Text = """
        the quick brown fox jumps over the lazy dog
        the dog barks and the fox runs
        a lazy afternoon for the quick brown dog
        """;

    static int lines;
    static readonly Dictionary<string, int> counts = new();
    static readonly List<string> longWords = new();
    static long letters;

    static async Task Main()
    {
        using var reader = new StringReader(Text);
        string line;
        var number = 0;
        while ((line = await reader.ReadLineAsync()) != null)
        {
            number++;
            await OnLine(number, line);
        }
        _ = OnLetters(Text.Length);

        await Task.Yield();
        Console.WriteLine($"{lines} lines, {letters} characters");
        foreach (var (word, count) in counts)
            if (count > 1) Console.WriteLine($"{word}: {count}");
        Console.WriteLine("long words: " + string.Join(", ", longWords));
    }

    static async Task OnLine(int number, string line)
    {
        lines++;
        foreach (var word in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            await OnWord(word.ToLowerInvariant());
    }

    // Awaits of its own: the group handles one message at a time, so nothing else sees counts between them.
    static async Task OnWord(string word)
    {
        await Task.Yield();
        counts[word] = counts.GetValueOrDefault(word) + 1;
        await Task.Delay(1);
        if (word.Length > 4) await OnLongWord(word);
    }

    static async ValueTask OnLongWord(string word)
    {
        await Task.Yield();
        if (!longWords.Contains(word)) longWords.Add(word);
    }

    static async Task OnLetters(int count)
    {
        await Task.Yield();
        letters += count;
    }
}
