// A nightly settlement job, written the way a small service's batch job is written, after the weaver and without any
// change to it: options from the command line, a table of exchange rates loaded at start, a feed of transactions,
// and the totals printed by Main at the end.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

static class Program
{
    static decimal minimumAmount = 1m;
    static string reportCurrency = "EUR";
    static bool verbose;
    static readonly Dictionary<string, decimal> ratesToEur = new();

    static readonly Dictionary<string, decimal> totalsByMerchant = new();
    static readonly Dictionary<string, int> countByCountry = new();
    static int accepted;
    static int rejected;

    static int Main(string[] args)
    {
        ParseOptions(args);
        LoadRates();

        foreach (var line in Transactions(20_000))
            OnTransaction(line);

        Console.WriteLine($"settlement in {reportCurrency}: {accepted} accepted, {rejected} rejected");
        foreach (var (merchant, total) in totalsByMerchant.OrderByDescending(p => p.Value).ThenBy(p => p.Key).Take(5))
            Console.WriteLine($"  {merchant,-12} {total,14:N2}");
        foreach (var (country, n) in countByCountry.OrderBy(p => p.Key, StringComparer.Ordinal))
            Console.WriteLine($"  {country}: {n}");
        return rejected > accepted ? 1 : 0;
    }

    static void ParseOptions(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--min": minimumAmount = decimal.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--currency": reportCurrency = args[++i]; break;
                case "-v": verbose = true; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); break;
            }
        }
    }

    static void LoadRates()
    {
        const string table = "EUR,1.0\nUSD,0.92\nGBP,1.17\nCHF,1.04\nJPY,0.0062";
        foreach (var row in table.Split('\n'))
        {
            var cells = row.Split(',');
            ratesToEur[cells[0]] = decimal.Parse(cells[1], CultureInfo.InvariantCulture);
        }
    }

    // Stands in for the day's export file: deterministic, with a few broken lines and unknown currencies.
    static IEnumerable<string> Transactions(int count)
    {
        string[] merchants = { "bakery", "bookshop", "cinema", "florist", "garage", "grocer", "pharmacy", "tailor" };
        string[] countries = { "DE", "FR", "IT", "NL", "CH", "GB" };
        string[] currencies = { "EUR", "EUR", "EUR", "USD", "GBP", "CHF", "JPY", "SEK" };
        var random = new Random(7);
        for (var id = 1; id <= count; id++)
        {
            var amount = (random.Next(1, 50_000) / 100m).ToString(CultureInfo.InvariantCulture);
            if (id % 997 == 0) amount = "n/a";
            yield return $"{id};{merchants[random.Next(merchants.Length)]};{countries[random.Next(countries.Length)]};" +
                         $"{currencies[random.Next(currencies.Length)]};{amount}";
        }
    }

    static void OnTransaction(string line)
    {
        var fields = line.Split(';');
        if (fields.Length != 5 || !decimal.TryParse(fields[4], NumberStyles.Number, CultureInfo.InvariantCulture, out var amount))
        {
            OnRejected(line, "malformed");
            return;
        }
        OnParsed(fields[1], fields[2], fields[3], amount);
    }

    static void OnParsed(string merchant, string country, string currency, decimal amount)
    {
        if (!ratesToEur.TryGetValue(currency, out var rate))
        {
            OnRejected(merchant, "unknown currency " + currency);
            return;
        }
        var eur = amount * rate;
        if (eur < minimumAmount)
        {
            OnRejected(merchant, "below the minimum");
            return;
        }
        OnAccepted(merchant, country, eur / ratesToEur[reportCurrency]);
    }

    static void OnAccepted(string merchant, string country, decimal amount)
    {
        accepted++;
        totalsByMerchant[merchant] = totalsByMerchant.GetValueOrDefault(merchant) + Math.Round(amount, 2);
        countByCountry[country] = countByCountry.GetValueOrDefault(country) + 1;
    }

    static void OnRejected(string what, string why)
    {
        rejected++;
        if (verbose) Console.WriteLine($"rejected {what}: {why}");
    }
}
