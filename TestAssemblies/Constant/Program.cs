// Constant state: fields written only by the type initializer and never changed by a handler stay static;
// every stage reads its own process's copy. A readonly array that a handler writes into is not constant.
using System;
using System.Collections.Generic;

static class Program
{
    static readonly string[] Names = { "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine" };
    static readonly int Factor = 7;
    static readonly Dictionary<string, int> Weights = new() { ["zero"] = 0, ["three"] = 3, ["seven"] = 7 };
    static readonly int[] Histogram = new int[10];       // owned by OnName: its elements change
    static int total;                                    // owned by OnName

    static void Main()
    {
        for (var i = 0; i < 500; i++)
            OnDigit(i % 10);
        OnName(null);
    }

    static void OnDigit(int digit) => OnName(Names[digit * Factor % 10]);

    static void OnName(string name)
    {
        if (name is null)
        {
            Console.WriteLine($"total {total}; histogram {string.Join(",", Histogram)}");
            return;
        }
        total += Weights.TryGetValue(name, out var w) ? w : name.Length;
        Histogram[Array.IndexOf(Names, name)]++;
    }
}
