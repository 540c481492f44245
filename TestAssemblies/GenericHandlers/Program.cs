// A generic handler called with several type arguments: each instantiation is a handler of its own, with its own
// closed message type (a host never reads a type argument from the wire).
using System;
using System.Collections.Generic;

static class Program
{
    static readonly List<string> lines = new();
    static readonly Dictionary<string, int> kinds = new();

    static void Main()
    {
        for (var i = 0; i < 500; i++)
        {
            OnItem(i);
            OnItem("w" + (i % 37));
            OnItem(new[] { i, i * 2 });
        }
        OnItem(DateTime.UnixEpoch);
        foreach (var (kind, count) in kinds) Console.WriteLine($"{kind}: {count}");
        Console.WriteLine($"{lines.Count} lines, last: {lines[^1]}");
    }

    static void OnItem<T>(T item)
    {
        var text = item is int[] pair ? $"[{pair[0]}, {pair[1]}]" : item.ToString();
        OnDescribed(typeof(T).Name, text);
    }

    static void OnDescribed(string kind, string text)
    {
        kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        lines.Add($"{kind} {text}");
    }
}
