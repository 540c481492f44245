// A nightly reorder job for a small shop, written last, after the weaver and without changing it: it reads its options
// from the command line, loads the catalogue (stock on hand, reorder points, suppliers) at start, replays the day's
// sales, and prints the purchase orders to place.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

static class Program
{
    sealed record Product(string Sku, string Name, int OnHand, int ReorderPoint, int OrderQuantity, string Supplier);

    static int days = 1;
    static double safetyFactor = 1.0;
    static readonly Dictionary<string, Product> catalogue = new();
    static readonly Dictionary<string, int> leadTimeDays = new();

    static readonly Dictionary<string, int> sold = new();
    static readonly Dictionary<string, int> onHand = new();
    static readonly List<string> orders = new();
    static int salesLines;
    static int unknownSkus;

    const string Catalogue = """
        A100;Espresso beans 1kg;40;25;60;roaster
        A200;Filter papers;120;50;200;paperco
        B300;Oat milk 1l;30;20;48;dairyfree
        B310;Whole milk 1l;35;20;48;farm
        C400;Croissant;60;40;80;bakery
        C410;Pain au chocolat;45;30;60;bakery
        D500;Paper cups 12oz;300;150;500;paperco
        """;

    static void Main(string[] args)
    {
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--days") days = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            else if (args[i] == "--safety") safetyFactor = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
        }
        LoadCatalogue();

        foreach (var line in DaySales(days))
            OnSaleLine(line);

        Console.WriteLine($"{salesLines} sales lines over {days} day(s), {unknownSkus} with an unknown SKU");
        foreach (var (sku, quantity) in sold.OrderBy(p => p.Key, StringComparer.Ordinal))
            Console.WriteLine($"  {sku} sold {quantity,4}, on hand {onHand[sku],4}");
        Console.WriteLine(orders.Count == 0 ? "no purchase orders" : $"{orders.Count} purchase order(s):");
        foreach (var order in orders) Console.WriteLine("  " + order);
    }

    static void LoadCatalogue()
    {
        foreach (var row in Catalogue.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var c = row.Split(';');
            catalogue[c[0]] = new Product(c[0], c[1], int.Parse(c[2], CultureInfo.InvariantCulture),
                int.Parse(c[3], CultureInfo.InvariantCulture), int.Parse(c[4], CultureInfo.InvariantCulture), c[5]);
        }
        leadTimeDays["roaster"] = 3;
        leadTimeDays["paperco"] = 5;
        leadTimeDays["dairyfree"] = 2;
        leadTimeDays["farm"] = 1;
        leadTimeDays["bakery"] = 1;
    }

    // Stands in for the till export: deterministic.
    static IEnumerable<string> DaySales(int dayCount)
    {
        string[] skus = { "A100", "A200", "B300", "B310", "C400", "C410", "D500", "Z999" };
        var random = new Random(2024);
        for (var day = 1; day <= dayCount; day++)
            for (var n = 0; n < 400; n++)
                yield return $"{day};{skus[random.Next(skus.Length)]};{1 + random.Next(3)}";
    }

    static void OnSaleLine(string line)
    {
        salesLines++;
        var parts = line.Split(';');
        var sku = parts[1];
        var quantity = int.Parse(parts[2], CultureInfo.InvariantCulture);
        if (!catalogue.ContainsKey(sku))
        {
            unknownSkus++;
            return;
        }
        OnSold(sku, quantity);
    }

    static void OnSold(string sku, int quantity)
    {
        sold[sku] = sold.GetValueOrDefault(sku) + quantity;
        var left = onHand.TryGetValue(sku, out var known) ? known : catalogue[sku].OnHand;
        onHand[sku] = left - quantity;
        var product = catalogue[sku];
        var threshold = (int)Math.Ceiling(product.ReorderPoint * safetyFactor);
        if (left >= threshold && left - quantity < threshold)
            OnBelowReorderPoint(product, left - quantity);
    }

    static void OnBelowReorderPoint(Product product, int left)
    {
        var lead = leadTimeDays.TryGetValue(product.Supplier, out var d) ? d : 7;
        orders.Add($"{product.Supplier,-9} {product.Sku} {product.Name,-18} x{product.OrderQuantity,4} (left {left}, arrives in {lead} day(s))");
    }
}
