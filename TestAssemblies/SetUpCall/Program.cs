// Main calls a method that loads a lookup table, once, before the feed. That call could be cut, but its readers would
// wait for it and fuse with it; kept synchronous (WEAV028), the table is frozen and the readers run in groups apart.
using System;
using System.Collections.Generic;

static class Program
{
    static readonly Dictionary<int, string> names = new();
    static readonly Dictionary<int, int> weights = new();

    static void Main()
    {
        LoadTables();
        for (var i = 0; i < 30; i++)
            OnItem(i % 7);
    }

    static void LoadTables()
    {
        string[] words = { "zero", "one", "two", "three", "four", "five", "six" };
        for (var i = 0; i < words.Length; i++)
        {
            names[i] = words[i];
            weights[i] = words[i].Length * 10;
        }
    }

    static void OnItem(int key) => OnNamed(names[key], key);

    static void OnNamed(string name, int key) => OnWeighed($"{name} weighs {weights[key]}");

    static void OnWeighed(string line) => Console.WriteLine(line);
}
