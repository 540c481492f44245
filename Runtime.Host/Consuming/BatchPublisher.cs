using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>
/// Publishes a batch of finished deliveries, and only then acknowledges them, in this order:
/// <list type="number">
/// <item>the messages the batch sent to other groups, and its dead letters; waits for the confirms;</item>
/// <item>the batch's completions to the sources' control queues (and, for a group that owns state, the owner record);
/// waits for the confirms: a completion only ever announces messages that exist (see <see cref="DrainLedger"/>);</item>
/// <item>the acknowledgement (multiple, up to the batch's last delivery tag): at-least-once.</item>
/// </list>
/// </summary>
sealed class BatchPublisher(OwnerRecords? ownerRecords, GroupCounters counters)
{
    public async Task PublishAsync(ConsumerSession session, List<FinishedDelivery> batch)
    {
        foreach (var item in batch)
            foreach (var message in item.Messages)
                await session.Publisher.PublishAsync(message);
        await session.Publisher.WhenAllConfirmedAsync();

        var properties = WireFormat.ControlProperties(WireFormat.ReportContentType);
        foreach (var (controlQueue, body) in ReportChunks.Of(batch.Select(f => (f.ReplyTo, f.Completion))))
            // Not mandatory: a source that has gone away leaves no queue, and nobody to tell.
            await session.Publisher.PublishAsync(new Outbound(controlQueue, properties, body, Mandatory: false));
        if (ownerRecords?.After(batch) is { } record) await session.Publisher.PublishAsync(record);
        await session.Publisher.WhenAllConfirmedAsync();

        // Deliveries of an earlier connection are not acknowledged: their tags died with it; they come back as duplicates.
        ulong? lastTag = null;
        foreach (var item in batch)
            if (item.Epoch == session.Epoch) lastTag = item.DeliveryTag;
        if (lastTag is { } tag) await session.ConsumeChannel.BasicAckAsync(tag, multiple: true, session.Lost.Token);
        counters.AddProcessed(batch.Count(f => f.Ran));
    }
}
