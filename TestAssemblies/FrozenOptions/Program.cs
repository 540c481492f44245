// The first habit: Main sets options and a lookup table before the feed. A threshold parsed from args, a tax rate, a
// price list filled from an embedded CSV: the source writes them before its first post, no handler changes them, so
// they are frozen, and the handlers that read them are stages of their own, each in its own group.
using System;
using System.Collections.Generic;
using System.Globalization;

static class Program
{
    static int threshold;
    static decimal taxRate;
    static readonly Dictionary<string, decimal> prices = new();
    static string currency = "EUR";

    const string PriceList = "apple,0.40\npear,0.55\nplum,0.25\nfig,1.10\nkiwi,0.35";

    static void Main(string[] args)
    {
        threshold = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        taxRate = 0.2m;
        if (args.Length > 1) currency = args[1];
        foreach (var row in PriceList.Split('\n'))
        {
            var cells = row.Split(',');
            prices[cells[0]] = decimal.Parse(cells[1], CultureInfo.InvariantCulture);
        }

        string[] fruit = { "apple", "pear", "plum", "fig", "kiwi", "grape" };
        for (var i = 0; i < 40; i++)
            OnOrder(i, fruit[i % fruit.Length], 1 + i % 7);
    }

    static void OnOrder(int id, string item, int quantity) =>
        OnPriced(id, item, quantity, prices.TryGetValue(item, out var price) ? price * quantity * (1 + taxRate) : -1);

    static void OnPriced(int id, string item, int quantity, decimal total)
    {
        if (total < 0) OnPrint($"order {id,2} rejected: no price for {item}");
        else if (quantity >= threshold) OnPrint($"order {id,2} large: {quantity} x {item}: {total:0.00} {currency}");
    }

    static void OnPrint(string line) => Console.WriteLine(line);
}
