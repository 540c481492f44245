// The textbook shape that was woven wrongly: a method that calls itself synchronously, prints, then calls itself again as
// its last statement. The last call looks like a tail call, but the method is also entered through the first call, and
// there its caller goes on printing: cutting it would print the lines out of order. Nothing in Walk may be cut.
using System;

static class Program
{
    static void Main()
    {
        Console.WriteLine("walk 6");
        Walk(6);
    }

    static void Walk(int n)
    {
        if (n <= 0) return;
        Walk(n - 1);
        Console.WriteLine(new string(' ', 6 - n) + n);
        Walk(n - 2);
    }
}
