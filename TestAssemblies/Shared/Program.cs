// Shared state: OnAdd and OnSubtract both change balance, and OnReport reads it: the three fuse into one group.
// OnAudit keeps its own state and stays a group of its own.
using System;

static class Program
{
    static long balance;                                 // shared by OnAdd, OnSubtract, OnReport
    static int audited;                                  // owned by OnAudit

    static void Main()
    {
        for (var i = 1; i <= 1000; i++)
        {
            if (i % 3 == 0) OnSubtract(i);
            else OnAdd(i);
        }
        OnReport();
    }

    static void OnAdd(int amount)
    {
        balance += amount;
        OnAudit(amount);
    }

    static void OnSubtract(int amount)
    {
        balance -= amount;
        OnAudit(-amount);
    }

    static void OnAudit(int change) => audited += Math.Sign(change);

    static void OnReport() => Console.WriteLine($"balance {balance}");
}
