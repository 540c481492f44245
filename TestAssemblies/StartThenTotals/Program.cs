// Main gives the handlers' state its starting value before the feed, and reads it back after: the state is the
// handlers' (owned by their group), the starting value reaches that group with the seed, and the result comes back
// from it once the work is done.
using System;
using System.Collections.Generic;

static class Program
{
    static long balance;
    static List<string> journal;

    static void Main(string[] args)
    {
        balance = args.Length > 0 ? long.Parse(args[0]) : 1000;
        journal = new List<string> { "opening " + balance };
        for (var day = 1; day <= 30; day++)
            OnDay(day);
        Console.WriteLine($"closing balance {balance}");
        Console.WriteLine(string.Join(Environment.NewLine, journal));
    }

    static void OnDay(int day) => OnBooked(day % 3 == 0 ? -day * 7 : day * 11, day);

    static void OnBooked(long amount, int day)
    {
        balance += amount;
        if (day % 10 == 0) journal.Add($"day {day}: {balance}");
    }
}
