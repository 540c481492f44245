// Written last, after every change to the weaver, and not changed for it: a price watcher as one would write it
// today. Ticks are read line by line from a stream with an async loop; each goes through async handlers; a tracker
// object keeps a moving average per symbol and raises an event (EventHandler<T>, custom EventArgs) when a price
// breaks out of its band; a store and a printer subscribe to it.
using System.Globalization;
using System.Text;

var tracker = new BandTracker(period: 20, width: 0.02m);
var store = new AlertStore();
tracker.Breakout += store.OnBreakout;
tracker.Breakout += PrintBreakout;

using var stream = new MemoryStream(Encoding.UTF8.GetBytes(MarketData.Generate(12_000)));
using var reader = new StreamReader(stream);
var count = 0;
string? line;
while ((line = await reader.ReadLineAsync()) is not null)
{
    count++;
    await Feed.OnLineAsync(line, tracker);
}

Console.WriteLine($"{count} lines, {Feed.Skipped} skipped, {tracker.Symbols} symbols");
foreach (var (symbol, alerts) in store.BySymbol().OrderBy(p => p.Key, StringComparer.Ordinal))
    Console.WriteLine($"{symbol}: {alerts} breakouts");

static void PrintBreakout(object? sender, BreakoutEventArgs e) =>
    Console.WriteLine($"{e.Symbol} {(e.Up ? "up" : "down")} at {e.Price} (band {e.Low:0.00}-{e.High:0.00})");

public sealed class BreakoutEventArgs : EventArgs
{
    public required string Symbol { get; init; }
    public required decimal Price { get; init; }
    public required decimal Low { get; init; }
    public required decimal High { get; init; }
    public bool Up => Price > High;
}

public sealed record Tick(string Symbol, decimal Price);

public static class Feed
{
    public static int Skipped { get; private set; }

    public static async ValueTask OnLineAsync(string line, BandTracker tracker)
    {
        var comma = line.IndexOf(',');
        if (comma <= 0 || !decimal.TryParse(line.AsSpan(comma + 1), NumberStyles.Number, CultureInfo.InvariantCulture, out var price))
        {
            Skipped++;
            return;
        }
        await OnTickAsync(new Tick(line[..comma], price), tracker);
    }

    static async ValueTask OnTickAsync(Tick tick, BandTracker tracker)
    {
        await Task.Yield(); // currency conversion would be awaited here
        tracker.Update(tick);
    }
}

public sealed class BandTracker(int period, decimal width)
{
    private readonly Dictionary<string, Queue<decimal>> _history = new();
    private readonly Dictionary<string, bool> _outside = new();

    public event EventHandler<BreakoutEventArgs>? Breakout;

    public int Symbols => _history.Count;

    public void Update(Tick tick)
    {
        if (!_history.TryGetValue(tick.Symbol, out var prices)) _history[tick.Symbol] = prices = new Queue<decimal>();
        if (prices.Count == period)
        {
            var mean = prices.Average();
            var (low, high) = (mean * (1 - width), mean * (1 + width));
            var outside = tick.Price < low || tick.Price > high;
            if (outside && !_outside.GetValueOrDefault(tick.Symbol))
                Breakout?.Invoke(this, new BreakoutEventArgs { Symbol = tick.Symbol, Price = tick.Price, Low = low, High = high });
            _outside[tick.Symbol] = outside;
            prices.Dequeue();
        }
        prices.Enqueue(tick.Price);
    }
}

public sealed class AlertStore
{
    private readonly List<BreakoutEventArgs> _alerts = [];

    public void OnBreakout(object? sender, BreakoutEventArgs e) => _alerts.Add(e);

    public Dictionary<string, int> BySymbol() => _alerts.GroupBy(a => a.Symbol).ToDictionary(g => g.Key, g => g.Count());
}

static class MarketData
{
    public static string Generate(int ticks)
    {
        var random = new Random(99);
        var prices = new Dictionary<string, decimal> { ["ACME"] = 120m, ["GLOBX"] = 45.5m, ["INITECH"] = 8.25m };
        var text = new StringBuilder();
        for (var i = 0; i < ticks; i++)
        {
            var symbol = prices.Keys.ElementAt(i % prices.Count);
            var step = (decimal)(random.NextDouble() - 0.5) * prices[symbol] * 0.01m * (i % 1500 < 40 ? 6 : 1);
            prices[symbol] = Math.Round(prices[symbol] + step, 2);
            text.Append(i % 777 == 0 ? "#heartbeat" : $"{symbol},{prices[symbol].ToString(CultureInfo.InvariantCulture)}").Append('\n');
        }
        return text.ToString();
    }
}
