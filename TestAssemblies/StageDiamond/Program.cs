// A fork inside a stage: OnOrder posts to OnPrice and OnStock, which both lead to OnLedger. The diamond is fused
// into OnOrder's group so that OnLedger sees its entries in the order of the unwoven program.
using System;
using System.Collections.Generic;

static class Program
{
    static readonly List<string> ledger = new();         // owned by OnLedger
    static int orders;                                   // owned by OnOrder

    static void Main()
    {
        for (var i = 0; i < 300; i++) OnOrder(i, i % 7 + 1);
        OnOrder(-1, 0);
    }

    static void OnOrder(int id, int quantity)
    {
        if (id < 0)
        {
            OnLedger(null);
            return;
        }
        orders++;
        OnPrice(id, quantity * 3);
        OnStock(id, quantity);
    }

    static void OnPrice(int id, int price) => OnLedger($"{id}:price={price}");

    static void OnStock(int id, int quantity) => OnLedger($"{id}:stock={quantity}");

    static void OnLedger(string entry)
    {
        if (entry is null)
        {
            Console.WriteLine($"{ledger.Count} entries");
            Console.WriteLine(string.Join(" ", ledger.GetRange(0, 6)));
            Console.WriteLine(string.Join(" ", ledger.GetRange(ledger.Count - 4, 4)));
            return;
        }
        ledger.Add(entry);
    }
}
