using System.Diagnostics.Metrics;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Weaving.InMemory;

/// <summary>
/// The meter <c>Weaving</c> of an in-memory run: the name and instruments Runtime.Host's meter has (its
/// <c>HostMetrics</c>), tagged <c>weaving.group</c>, so that one dashboard reads a program woven in memory and one
/// deployed on hosts alike; plus <c>weaving.messages.inline</c>, what the runtime decided. The instruments are
/// observable: a listener that collects reads the transport's own counters, and a message costs nothing more.
/// <para>
/// Made once System.Diagnostics.DiagnosticSource is loaded, at start or whenever the program loads it later: no
/// listener (a <see cref="MeterListener"/>, OpenTelemetry's meter provider) can exist in the process before that, and
/// loading it and making a meter costs a program that never looks about 25 ms of start-up (measured: 0.9 ms to 27 ms
/// for a console program that makes one).
/// </para>
/// </summary>
internal sealed class TransportMeter : IDisposable
{
    const string DiagnosticsAssembly = "System.Diagnostics.DiagnosticSource";

    readonly InMemoryTransport transport;
    // A Meter, held as object: the fields of this class load nothing until the meter is made.
    object? meter;
    int state; // 0 waiting for the assembly, 1 made, 2 disposed

    TransportMeter(InMemoryTransport transport) => this.transport = transport;

    /// <summary>The transport's meter: made now if a listener could exist, else when the program loads what it needs.</summary>
    public static TransportMeter Attach(InMemoryTransport transport)
    {
        var attached = new TransportMeter(transport);
        // Subscribed first: an assembly loaded between the look and the subscription is not missed.
        AppDomain.CurrentDomain.AssemblyLoad += attached.OnAssemblyLoad;
        attached.MakeIfLoaded(AppDomain.CurrentDomain.GetAssemblies());
        return attached;
    }

    /// <summary>Makes the meter if <paramref name="loaded"/> holds System.Diagnostics.DiagnosticSource.</summary>
    internal void MakeIfLoaded(IEnumerable<Assembly> loaded)
    {
        foreach (var assembly in loaded)
            if (IsDiagnostics(assembly))
            {
                Make();
                return;
            }
    }

    /// <summary>A meter waiting for the assembly, subscribed to nothing: for tests, which then call <see cref="OnAssemblyLoad"/>.</summary>
    internal static TransportMeter Waiting(InMemoryTransport transport) => new(transport);

    /// <summary>Whether the meter exists (a listener can see it).</summary>
    public bool Made => Volatile.Read(ref state) == 1;

    internal void OnAssemblyLoad(object? sender, AssemblyLoadEventArgs args)
    {
        if (IsDiagnostics(args.LoadedAssembly)) Make();
    }

    // The full name, not GetName(): no AssemblyName made for every assembly the program loads.
    static bool IsDiagnostics(Assembly assembly) =>
        assembly.FullName is { } name && name.StartsWith(DiagnosticsAssembly + ",", StringComparison.Ordinal);

    void Make()
    {
        if (Interlocked.CompareExchange(ref state, 1, 0) != 0) return;
        AppDomain.CurrentDomain.AssemblyLoad -= OnAssemblyLoad;
        meter = CreateMeter();
    }

    // Apart, so that compiling Make does not load System.Diagnostics.DiagnosticSource.
    [MethodImpl(MethodImplOptions.NoInlining)]
    object CreateMeter()
    {
        var created = new Meter(WeavingMeter.Name);
        created.CreateObservableCounter(WeavingMeter.Processed, () => Read(w => w.Finished), WeavingMeter.Unit,
            WeavingMeter.ProcessedDescription);
        created.CreateObservableCounter(WeavingMeter.Failed, () => Read(w => w.FailedMessages), WeavingMeter.Unit,
            WeavingMeter.FailedDescription);
        // Received is read before Finished: a message finished between the two reads is not counted negative.
        created.CreateObservableUpDownCounter(WeavingMeter.InFlight, () => Read(w => Math.Max(0, w.Received - w.Finished)), WeavingMeter.Unit,
            "Messages a group received and has not finished: queued or running.");
        created.CreateObservableCounter(WeavingMeter.Inline, () => Read(w => w.RanInline), WeavingMeter.Unit,
            "Messages that ran inline, as a direct call on their sender's thread, because their hop would have cost more than they do.");
        return created;
    }

    IEnumerable<Measurement<long>> Read(Func<GroupWorker, long> value)
    {
        var workers = transport.Workers;
        var measurements = new Measurement<long>[workers.Length];
        for (var i = 0; i < workers.Length; i++)
            measurements[i] = new Measurement<long>(value(workers[i]), new KeyValuePair<string, object?>(WeavingMeter.GroupTag, workers[i].Group.Name));
        return measurements;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref state, 2) == 0) AppDomain.CurrentDomain.AssemblyLoad -= OnAssemblyLoad;
        else if (meter is not null) DisposeMeter();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void DisposeMeter() => ((Meter)meter!).Dispose();
}
