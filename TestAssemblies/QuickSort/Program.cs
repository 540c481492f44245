// An in-place algorithm, not written for Weaving: the recursive calls share the array, and the caller reads it after
// them, so none of them is cut. OnSorted, which receives the array once the caller is done with it, is a stage.
using System;

static class Program
{
    static void Main()
    {
        var a = new int[5000];
        var random = new Random(7);
        for (var i = 0; i < a.Length; i++) a[i] = random.Next(100_000);
        QuickSort(a, 0, a.Length - 1);
        OnSorted(a);
    }

    static void QuickSort(int[] a, int lo, int hi)
    {
        if (lo >= hi) return;
        var p = Partition(a, lo, hi);
        QuickSort(a, lo, p - 1);
        QuickSort(a, p + 1, hi);
    }

    static int Partition(int[] a, int lo, int hi)
    {
        var pivot = a[hi];
        var i = lo;
        for (var j = lo; j < hi; j++)
        {
            if (a[j] >= pivot) continue;
            (a[i], a[j]) = (a[j], a[i]);
            i++;
        }
        (a[i], a[hi]) = (a[hi], a[i]);
        return i;
    }

    static void OnSorted(int[] sorted)
    {
        var ordered = true;
        for (var i = 1; i < sorted.Length; i++) ordered &= sorted[i - 1] <= sorted[i];
        Console.WriteLine($"sorted {ordered}: {sorted[0]} {sorted[sorted.Length / 2]} {sorted[^1]}");
    }
}
