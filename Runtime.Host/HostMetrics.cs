using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Weaving.Host;

/// <summary>The meter <c>Weaving</c> and the activity source <c>Weaving</c>; counters are tagged with the group.</summary>
public sealed class HostMetrics
{
    public const string Name = "Weaving";
    public static readonly ActivitySource Activities = new(Name);

    readonly Counter<long> processed;
    readonly Counter<long> failed;
    readonly Counter<long> deadLettered;
    readonly Counter<long> duplicates;

    public HostMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(Name);
        processed = meter.CreateCounter<long>("weaving.messages.processed", "{message}", "Messages a group ran to completion, handler failures included.");
        failed = meter.CreateCounter<long>("weaving.messages.failed", "{message}", "Messages whose handler threw.");
        deadLettered = meter.CreateCounter<long>("weaving.messages.dead_lettered", "{message}", "Messages moved to a dead-letter queue: failed, undecodable, of another build or stage.");
        duplicates = meter.CreateCounter<long>("weaving.messages.duplicates", "{message}", "Deliveries of a message the group had already run, acknowledged without running.");
    }

    public void Processed(string group, long count = 1) => processed.Add(count, new KeyValuePair<string, object?>("weaving.group", group));
    public void Failed(string group, long count = 1) => failed.Add(count, new KeyValuePair<string, object?>("weaving.group", group));
    public void DeadLettered(string group, long count = 1) => deadLettered.Add(count, new KeyValuePair<string, object?>("weaving.group", group));
    public void Duplicate(string group) => duplicates.Add(1, new KeyValuePair<string, object?>("weaving.group", group));
}
