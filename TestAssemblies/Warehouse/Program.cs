// Written last, after every change to the weaver, and not changed for it: a warehouse scanner loop. Scans arrive as
// text lines read asynchronously; each scan is handled by async handlers; the inventory is an object with its own
// state that raises an event when an item runs low; a reorder list and a log subscribe to it.
using System.Text;

namespace Warehouse;

public delegate void LowStockHandler(string sku, int remaining);

public readonly record struct Scan(string Dock, string Sku, int Quantity, bool Outbound);

public sealed class Inventory
{
    private readonly Dictionary<string, int> _onHand;
    private readonly int _reorderLevel;
    private int _movements;

    public Inventory(IReadOnlyDictionary<string, int> opening, int reorderLevel)
    {
        _onHand = new Dictionary<string, int>(opening);
        _reorderLevel = reorderLevel;
    }

    public event LowStockHandler? LowStock;

    public int Movements => _movements;

    public int OnHand(string sku) => _onHand.GetValueOrDefault(sku);

    public void Apply(Scan scan)
    {
        _movements++;
        var before = _onHand.GetValueOrDefault(scan.Sku);
        var after = scan.Outbound ? Math.Max(0, before - scan.Quantity) : before + scan.Quantity;
        _onHand[scan.Sku] = after;
        if (before > _reorderLevel && after <= _reorderLevel) LowStock?.Invoke(scan.Sku, after);
    }
}

public static class Program
{
    private static readonly Inventory Stock = new(Catalogue.Opening(), reorderLevel: 25);
    private static readonly List<string> Reorders = new();
    private static readonly Dictionary<string, int> ScansPerDock = new();
    private static int _rejected;

    public static async Task Main()
    {
        Stock.LowStock += OnLowStock;
        Stock.LowStock += (sku, remaining) => Console.WriteLine($"low stock: {sku} ({remaining} left)");

        using var scanner = new StringReader(Catalogue.Scans(9000));
        while (await scanner.ReadLineAsync() is { } raw)
            await OnRawScanAsync(raw);

        Console.WriteLine($"{Stock.Movements} movements, {_rejected} rejected");
        foreach (var (dock, scans) in ScansPerDock.OrderBy(d => d.Key)) Console.WriteLine($"dock {dock}: {scans} scans");
        Console.WriteLine($"reorder: {string.Join(", ", Reorders)}");
        foreach (var sku in Catalogue.Skus) Console.WriteLine($"{sku}: {Stock.OnHand(sku)}");
    }

    private static async Task OnRawScanAsync(string raw)
    {
        var parts = raw.Split('|');
        if (parts.Length != 4 || !int.TryParse(parts[2], out var quantity) || quantity <= 0)
        {
            _rejected++;
            return;
        }
        await OnScanAsync(new Scan(parts[0], parts[1], quantity, parts[3] == "out"));
    }

    private static async Task OnScanAsync(Scan scan)
    {
        await Task.Yield(); // the label printer is asked here
        ScansPerDock[scan.Dock] = ScansPerDock.GetValueOrDefault(scan.Dock) + 1;
        Stock.Apply(scan);
    }

    private static void OnLowStock(string sku, int remaining) => Reorders.Add($"{sku}@{remaining}");
}

internal static class Catalogue
{
    public static readonly string[] Skus = ["BOLT-M6", "NUT-M6", "WASHER-6", "HINGE-40", "BRACKET-L"];

    public static Dictionary<string, int> Opening() => Skus.ToDictionary(s => s, s => 120 + s.Length * 7);

    public static string Scans(int count)
    {
        var random = new Random(5);
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var sku = Skus[random.Next(Skus.Length)];
            var outbound = random.Next(100) < 55;
            var quantity = i % 613 == 0 ? -1 : random.Next(1, 9);
            text.Append($"D{1 + i % 3}|{sku}|{quantity}|{(outbound ? "out" : "in")}\n");
        }
        return text.ToString();
    }
}
