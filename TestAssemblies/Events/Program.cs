// Events as C# programs raise them: an object's event with several subscribers (a method group, a lambda that only
// calls a handler, a method of another object), and a static event. Subscribed once in Main, before the feed; each
// raise is a call to each subscriber, in subscription order.
using System;
using System.Collections.Generic;

sealed class Thermostat
{
    public event Action<string, double> Alert;
    readonly Dictionary<string, double> last = new();
    int readings;

    public void OnReading(string room, double celsius)
    {
        readings++;
        if (last.TryGetValue(room, out var before) && Math.Abs(celsius - before) > 3.0)
            Alert?.Invoke(room, celsius - before);
        last[room] = celsius;
    }

    public int Readings => readings;
}

sealed class Journal
{
    readonly List<string> lines = new();

    public void OnAlert(string room, double change) => lines.Add($"{room} {change:+0.0;-0.0}");

    public IReadOnlyList<string> Lines => lines;
}

static class Program
{
    static readonly Thermostat thermostat = new();
    static readonly Journal journal = new();
    static readonly List<string> pages = new();
    static readonly Dictionary<string, int> alertsByRoom = new();
    static long ticks;

    static event Action<int> Tick;

    static void Main()
    {
        thermostat.Alert += OnPage;
        thermostat.Alert += (room, change) => OnCount(room, change);
        thermostat.Alert += journal.OnAlert;
        Tick += OnTick;

        var random = new Random(11);
        string[] rooms = ["kitchen", "hall", "study"];
        for (var i = 0; i < 4000; i++)
        {
            var room = rooms[i % rooms.Length];
            thermostat.OnReading(room, 19 + random.NextDouble() * 2 + (i % 211 == 0 ? 6 : 0));
            Tick?.Invoke(i);
        }

        Console.WriteLine($"{thermostat.Readings} readings, {ticks} ticks");
        foreach (var page in pages) Console.WriteLine("page: " + page);
        foreach (var (room, count) in alertsByRoom) Console.WriteLine($"{room}: {count}");
        Console.WriteLine($"journal: {journal.Lines.Count} lines, last {journal.Lines[^1]}");
    }

    static void OnPage(string room, double change)
    {
        if (Math.Abs(change) > 5.0) pages.Add($"{room} jumped {change:0.0}");
    }

    static void OnCount(string room, double change) => alertsByRoom[room] = alertsByRoom.GetValueOrDefault(room) + 1;

    static void OnTick(int tick) => ticks += tick;
}
