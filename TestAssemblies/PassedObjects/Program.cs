// An object Main makes and passes to its handlers, as a context: every call passes the same object, so it need not
// travel; each handler finds it where it runs (the object of the static field it was given).
using System;
using System.Collections.Generic;

sealed class Ledger
{
    readonly Dictionary<string, decimal> balances = new();
    public int Postings { get; private set; }

    public void Post(string account, decimal amount)
    {
        Postings++;
        balances[account] = balances.GetValueOrDefault(account) + amount;
    }

    public decimal Balance(string account) => balances.GetValueOrDefault(account);
}

static class Program
{
    static void Main()
    {
        var ledger = new Ledger();
        string[] accounts = ["cash", "bank", "sales", "stock"];
        for (var i = 0; i < 3000; i++)
            OnTransfer(ledger, accounts[i % 4], accounts[(i + 1) % 4], (i % 17) * 1.25m);
        foreach (var account in accounts) Console.WriteLine($"{account}: {ledger.Balance(account)}");
        Console.WriteLine($"{ledger.Postings} postings");
    }

    static void OnTransfer(Ledger ledger, string from, string to, decimal amount)
    {
        if (amount == 0) return;
        OnPosting(ledger, from, -amount);
        OnPosting(ledger, to, amount);
    }

    static void OnPosting(Ledger ledger, string account, decimal amount) => ledger.Post(account, amount);
}
