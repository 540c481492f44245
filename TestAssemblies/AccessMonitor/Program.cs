// Written last, after every change to the weaver and without changing it: a login monitor as a .NET programmer would
// write one today. An async stream of log lines, an async handler per line, a detector object that keeps a window of
// failures per address, and an event it raises for each brute-force alert.
using System.Globalization;
using System.Runtime.CompilerServices;

namespace AccessMonitor;

public enum Outcome { Success, Failure }

public sealed record LoginAttempt(DateTime At, string User, string Address, Outcome Outcome);

public sealed record BruteForceAlert(string Address, int Failures, DateTime From, DateTime To);

public sealed class BruteForceDetector
{
    private readonly int _threshold;
    private readonly TimeSpan _window;
    private readonly Dictionary<string, Queue<DateTime>> _failures = new();
    private readonly HashSet<string> _flagged = new();

    public BruteForceDetector(int threshold, TimeSpan window)
    {
        _threshold = threshold;
        _window = window;
    }

    public event Action<BruteForceAlert>? AlertRaised;

    public int Attempts { get; private set; }

    public void Observe(LoginAttempt attempt)
    {
        Attempts++;
        if (attempt.Outcome == Outcome.Success) return;
        if (!_failures.TryGetValue(attempt.Address, out var recent))
        {
            recent = new Queue<DateTime>();
            _failures.Add(attempt.Address, recent);
        }
        recent.Enqueue(attempt.At);
        while (recent.Count > 0 && attempt.At - recent.Peek() > _window) recent.Dequeue();
        if (recent.Count >= _threshold && _flagged.Add(attempt.Address))
            AlertRaised?.Invoke(new BruteForceAlert(attempt.Address, recent.Count, recent.Peek(), attempt.At));
    }
}

public sealed class AuditTrail
{
    private readonly List<string> _entries = new();

    public IReadOnlyList<string> Entries => _entries;

    public void Record(BruteForceAlert alert) =>
        _entries.Add($"{alert.Address}: {alert.Failures} failures between {alert.From:HH:mm:ss} and {alert.To:HH:mm:ss}");
}

public static class Program
{
    private static int _malformed;

    public static async Task Main()
    {
        var detector = new BruteForceDetector(threshold: 5, window: TimeSpan.FromMinutes(2));
        var audit = new AuditTrail();
        detector.AlertRaised += audit.Record;
        detector.AlertRaised += alert => Console.WriteLine($"ALERT {alert.Address} ({alert.Failures} failures)");

        await foreach (var line in ReadLogAsync(8000))
            await HandleLineAsync(line, detector);

        Console.WriteLine($"{detector.Attempts} attempts, {_malformed} malformed lines");
        Console.WriteLine($"{audit.Entries.Count} addresses flagged:");
        foreach (var entry in audit.Entries) Console.WriteLine("  " + entry);
    }

    private static async Task HandleLineAsync(string line, BruteForceDetector detector)
    {
        var attempt = Parse(line);
        if (attempt is null)
        {
            _malformed++;
            return;
        }
        await Task.Yield(); // a geo-IP lookup would go here
        detector.Observe(attempt);
    }

    private static LoginAttempt? Parse(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 4) return null;
        if (!DateTime.TryParseExact(fields[0], "HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)) return null;
        var outcome = fields[3] switch { "ok" => Outcome.Success, "fail" => Outcome.Failure, _ => (Outcome?)null };
        return outcome is null ? null : new LoginAttempt(at, fields[1], fields[2], outcome.Value);
    }

    private static async IAsyncEnumerable<string> ReadLogAsync(int lines, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var random = new Random(2026);
        var clock = new DateTime(2026, 11, 30, 8, 0, 0);
        for (var i = 0; i < lines; i++)
        {
            if (i % 500 == 0) await Task.Delay(1, cancellation);
            clock = clock.AddSeconds(random.Next(1, 4));
            var attacker = i % 400 > 380;
            var address = attacker ? $"203.0.113.{i / 400}" : $"10.0.{random.Next(0, 4)}.{random.Next(1, 40)}";
            var user = attacker ? "admin" : $"user{random.Next(1, 60)}";
            var outcome = attacker || random.Next(0, 20) == 0 ? "fail" : "ok";
            yield return i % 1000 == 999 ? "corrupted entry" : $"{clock:HH:mm:ss} {user} {address} {outcome}";
        }
    }
}
