using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>
/// Publishes a batch of finished deliveries, and only then settles them, in this order:
/// <list type="number">
/// <item>the messages the batch sent to other groups, written one at a time as they are published (so that at most the
/// publisher's window of them exists as bodies at once, however many a handler posted), and its dead letters; waits for
/// the confirms;</item>
/// <item>the batch's completions to the sources' control queues (and, for a group that owns state, the owner record);
/// waits for the confirms: a completion only ever announces messages that exist (see <see cref="DrainLedger"/>);</item>
/// <item>the rejections (bodies over the size limit, which the broker dead-letters), then the acknowledgement (multiple,
/// up to the batch's last acknowledged delivery tag): at-least-once.</item>
/// </list>
/// For a group that keeps checkpoints (<paramref name="checkpoints"/>), step 2 also publishes the checkpoints in
/// the batch, and step 3 acknowledges only the deliveries before its last checkpoint: the others wait for the next one,
/// so that a message leaves the broker only once a checkpoint that reflects it is confirmed.
/// </summary>
sealed class BatchPublisher(OutgoingEncoder encoder, OwnerRecords? ownerRecords, GroupCounters counters, GroupCheckpoints? checkpoints = null)
{
    // With held acknowledgements: the last delivery tag waiting for a checkpoint, and its session.
    (int Epoch, ulong Tag)? held;

    public async Task PublishAsync(ConsumerSession session, List<FinishedDelivery> batch)
    {
        foreach (var item in batch)
        {
            foreach (var message in item.Messages)
                await session.Publisher.PublishAsync(message);
            if (item.Posts is { } posts) await PublishPostsAsync(session, item, posts);
        }
        await session.Publisher.WhenAllConfirmedAsync();

        var properties = WireFormat.ControlProperties(WireFormat.ReportContentType);
        foreach (var (controlQueue, body) in ReportChunks.Of(batch.Select(f => (f.ReplyTo, f.Completion))))
            // Not mandatory: a source that has gone away leaves no queue, and nobody to tell.
            await session.Publisher.PublishAsync(new Outbound(controlQueue, properties, body, Mandatory: false));
        if (ownerRecords?.After(batch) is { } record) await session.Publisher.PublishAsync(record);
        // Only on the session it was captured on: one of an earlier session is published again, if at all, once this host
        // is the active consumer again (GroupCheckpoints.PrepareAsync).
        foreach (var item in batch)
            if (item.Checkpoint is { } checkpoint && item.Epoch == session.Epoch) await session.Publisher.PublishAsync(checkpoint);
        await session.Publisher.WhenAllConfirmedAsync();
        foreach (var item in batch)
            if (item.Checkpoint is not null && item.Epoch == session.Epoch) checkpoints!.Confirmed(item.CheckpointId!);

        // Deliveries of an earlier connection are not settled: their tags died with it; they come back as duplicates.
        // The last tag of this session not acknowledged yet, from this batch or (held for a checkpoint) an earlier one.
        ulong? lastTag = held is { } h && h.Epoch == session.Epoch ? h.Tag : null;
        ulong? coveredTag = null;
        var deliveries = 0;
        foreach (var item in batch)
        {
            if (item.IsCheckpoint)
            {
                coveredTag = lastTag;
                continue;
            }
            deliveries++;
            if (item.Epoch != session.Epoch) continue;
            if (item.Settlement == Settlement.Reject)
                await session.ConsumeChannel.BasicRejectAsync(item.DeliveryTag, requeue: false, session.Lost.Token);
            else
                lastTag = item.DeliveryTag;
        }
        var holdsAcknowledgements = checkpoints is not null;
        var acknowledge = holdsAcknowledgements ? coveredTag : lastTag;
        held = holdsAcknowledgements && lastTag is { } last && last != acknowledge ? (session.Epoch, last) : null;
        if (acknowledge is { } tag)
            await session.ConsumeChannel.BasicAckAsync(tag, multiple: true, session.Lost.Token);
        counters.AddProcessed(batch.Count(f => f.Ran));
        // Those of a lost session too: they were dropped above, and the broker delivers them again.
        counters.Settled(deliveries);
    }

    // Written again when a batch is published again after a reconnect: the same bytes, with the same ids. Its completion
    // (and the count of posts that could not be sent) is made the first time only.
    async Task PublishPostsAsync(ConsumerSession session, FinishedDelivery item, HandlerPosts posts)
    {
        var first = item.Completion is null;
        var sent = first ? new List<MessageId>(posts.Envelopes.Count) : null;
        var unsent = 0;
        foreach (var post in posts.Envelopes)
        {
            using var span = HostMetrics.StartPublish(post.Stage.Name, posts.TraceParent, posts.TraceState);
            var (traceParent, traceState) = span is null ? (posts.TraceParent, posts.TraceState) : (span.Id, span.TraceStateString);
            if (encoder.Encode(post, posts.Stage, posts.Id, posts.ReplyTo, traceParent, traceState) is { } message)
            {
                await session.Publisher.PublishAsync(message);
                sent?.Add(post.Id);
            }
            else
                unsent++;
        }
        if (!first) return;
        if (unsent > 0) counters.AddFailed(unsent);
        item.Completion = new Completion(posts.Id, posts.HandlerFailures + unsent, [.. sent!]);
    }
}
