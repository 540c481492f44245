// Collections built right where they are handed on, after an earlier continuation: a collection initializer, a params
// array, a list filled in a loop. Each is made after the earlier post and given away by the later one, so the earlier
// handler can never see it: every call is cut.
using System;
using System.Collections.Generic;
using System.Linq;

static class Program
{
    static void Main()
    {
        for (var i = 1; i <= 3; i++)
        {
            OnStart(i);
            OnList(new List<int> { i, i * 2, i * 3 });
            var squares = new List<int>();
            for (var k = 1; k <= i; k++) squares.Add(k * k);
            OnSquares(squares);
            OnNames(new[] { "a" + i, "b" + i });
        }
    }

    static void OnStart(int i) => OnPrint($"start {i}");

    static void OnList(List<int> values) => OnPrint("list " + string.Join(",", values));

    static void OnSquares(List<int> squares) => OnPrint("squares " + string.Join(",", squares) + " sum " + squares.Sum());

    static void OnNames(string[] names) => OnPrint("names " + string.Join(",", names));

    static void OnPrint(string line) => Console.WriteLine(line);
}
