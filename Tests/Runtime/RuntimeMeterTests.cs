using System.Diagnostics.Metrics;
using Weaving.InMemory;

namespace Weaving.Tests.Runtime;

/// <summary>
/// The in-memory runtime publishes the meter Runtime.Host publishes (<c>Weaving</c>, the same instrument names, tagged
/// with the group), read by a <see cref="MeterListener"/> as any .NET service's; and only once something could listen.
/// </summary>
[TestClass]
public sealed class RuntimeMeterTests
{
    [TestMethod]
    [DataRow("never")]
    [DataRow("always")]
    public void A_MeterListener_reads_what_each_group_processed_and_how_much_ran_inline(string policy)
    {
        const int moves = 3000;
        using var listener = new MeterListener();
        var before = new HashSet<Meter>();
        var started = false;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name != WeavingMeter.Name) return;
            // Other tests' transports live on in this process, each with its meter: this test reads the one it starts.
            if (!started) before.Add(instrument.Meter);
            else if (!before.Contains(instrument.Meter)) l.EnableMeasurementEvents(instrument);
        };
        var seen = new Dictionary<(string Instrument, string? Group), long>();
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? group = null;
            foreach (var tag in tags)
                if (tag.Key == "weaving.group") group = tag.Value as string;
            lock (seen) seen[(instrument.Name, group)] = value;
        });
        listener.Start();
        started = true;

        // The warm-up move of LoadLibrary, then these: every one a message of OnMove's group, run and finished.
        var (_, receive, report) = InlineContractTests.LoadLibrary(policy);
        receive("item", moves);
        report();
        listener.RecordObservableInstruments();

        var groups = seen.Keys.Select(k => k.Group).Distinct().ToArray();
        Assert.AreEqual(1, groups.Length, $"one group, one series per instrument: {string.Join(", ", seen)}");
        var group = groups[0];
        Assert.IsNotNull(group, "the measurements carry no weaving.group tag");
        Assert.AreEqual(moves + 1L, seen[("weaving.messages.processed", group)], string.Join(", ", seen));
        Assert.AreEqual(0L, seen[("weaving.messages.in_flight", group)], "drained, yet messages in flight");
        Assert.AreEqual(0L, seen[("weaving.messages.failed", group)]);
        Assert.AreEqual(policy == "always" ? moves + 1L : 0L, seen[("weaving.messages.inline", group)],
            $"WEAVING_INLINE={policy}: {string.Join(", ", seen)}");
    }

    [TestMethod]
    public void The_meter_is_made_only_once_the_program_loads_what_a_listener_needs()
    {
        // A program that never loads System.Diagnostics.DiagnosticSource cannot listen: its meter would only cost it
        // start-up. When the program loads it (OpenTelemetry, a MeterListener of its own), the meter appears.
        using var transport = new InMemoryTransport();
        using var meter = TransportMeter.Waiting(transport);
        meter.MakeIfLoaded([typeof(object).Assembly, typeof(RuntimeMeterTests).Assembly]);
        Assert.IsFalse(meter.Made, "made with no System.Diagnostics.DiagnosticSource loaded");
        meter.OnAssemblyLoad(null, new AssemblyLoadEventArgs(typeof(Console).Assembly));
        Assert.IsFalse(meter.Made, "made when another assembly loaded");

        var published = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == WeavingMeter.Name) lock (published) published.Add(instrument.Name);
            },
        };
        listener.Start();
        published.Clear();
        meter.OnAssemblyLoad(null, new AssemblyLoadEventArgs(typeof(Meter).Assembly));

        Assert.IsTrue(meter.Made);
        CollectionAssert.AreEquivalent(new[] { "weaving.messages.processed", "weaving.messages.failed", "weaving.messages.in_flight", "weaving.messages.inline" },
            published, string.Join(", ", published));
    }
}
