// A fork at the source: Main posts to OnLeft, then to OnRight, and both lead to OnJoin. The source drains the
// work of OnLeft before it posts to OnRight, so OnJoin sees every left item before any right item.
using System;
using System.Collections.Generic;

static class Program
{
    static readonly List<string> joined = new();         // owned by OnJoin

    static void Main()
    {
        for (var i = 0; i < 200; i++) OnLeft(i);
        for (var i = 0; i < 200; i++) OnRight(i);
        OnRight(-1);
    }

    static void OnLeft(int i) => OnJoin("L" + (i * 3 % 200));

    static void OnRight(int i) => OnJoin(i < 0 ? null : "R" + (i * 7 % 200));

    static void OnJoin(string item)
    {
        if (item is null)
        {
            Console.WriteLine($"{joined.Count} items: {joined[0]} {joined[199]} {joined[200]} {joined[399]}");
            Console.WriteLine(string.Join(" ", joined.GetRange(195, 10)));
            return;
        }
        joined.Add(item);
    }
}
