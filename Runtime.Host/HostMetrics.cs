using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Weaving.Host;

/// <summary>The meter <c>Weaving</c> and the activity source <c>Weaving</c>; counters are tagged with the group.</summary>
public sealed class HostMetrics
{
    public const string Name = WeavingMeter.Name;
    public static readonly ActivitySource Activities = new(Name);

    /// <summary>
    /// The producer span of one message to <paramref name="stage"/>, a child of <paramref name="traceParent"/> (a W3C
    /// traceparent) or else of the current activity; null when nobody listens. Its id is the traceparent the message
    /// carries, so that the consumer's span, and everything after it, is in the same trace.
    /// </summary>
    public static Activity? StartPublish(string stage, string? traceParent = null, string? traceState = null)
    {
        if (!Activities.HasListeners()) return null;
        var parent = traceParent is not null && ActivityContext.TryParse(traceParent, traceState, out var parsed) ? parsed
            : Activity.Current?.Context ?? default;
        var activity = Activities.StartActivity(stage + " publish", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.system", "rabbitmq");
        activity?.SetTag("messaging.operation.type", "publish");
        return activity;
    }

    readonly Counter<long> processed;
    readonly Counter<long> failed;
    readonly Counter<long> deadLettered;
    readonly Counter<long> duplicates;
    readonly UpDownCounter<long> inFlight;

    public HostMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(Name);
        processed = meter.CreateCounter<long>(WeavingMeter.Processed, WeavingMeter.Unit, WeavingMeter.ProcessedDescription);
        failed = meter.CreateCounter<long>(WeavingMeter.Failed, WeavingMeter.Unit, WeavingMeter.FailedDescription);
        deadLettered = meter.CreateCounter<long>(WeavingMeter.DeadLettered, WeavingMeter.Unit, "Messages moved to a dead-letter queue: failed, undecodable, of another build or stage.");
        duplicates = meter.CreateCounter<long>(WeavingMeter.Duplicates, WeavingMeter.Unit, "Deliveries of a message the group had already run, acknowledged without running.");
        inFlight = meter.CreateUpDownCounter<long>(WeavingMeter.InFlight, WeavingMeter.Unit, "Deliveries a group took and has not settled yet: running, or waiting for their posts' confirms.");
    }

    public void Processed(string group, long count = 1) => processed.Add(count, new KeyValuePair<string, object?>(WeavingMeter.GroupTag, group));
    public void Failed(string group, long count = 1) => failed.Add(count, new KeyValuePair<string, object?>(WeavingMeter.GroupTag, group));
    public void DeadLettered(string group, long count = 1) => deadLettered.Add(count, new KeyValuePair<string, object?>(WeavingMeter.GroupTag, group));
    public void InFlight(string group, long change) => inFlight.Add(change, new KeyValuePair<string, object?>(WeavingMeter.GroupTag, group));
    public void Duplicate(string group) => duplicates.Add(1, new KeyValuePair<string, object?>(WeavingMeter.GroupTag, group));
}
