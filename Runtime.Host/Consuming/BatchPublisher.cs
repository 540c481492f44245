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
/// For a group that keeps checkpoints (<paramref name="checkpoints"/>), step 2 publishes the checkpoints in the batch
/// instead, each sealed with the console output and completions of the deliveries before it (held since: see
/// <see cref="HeldConsole"/>), and once they are confirmed releases them: prints the output, publishes the owner record that
/// says so, then the completions. Step 3 acknowledges only the deliveries before its last checkpoint: the others wait for
/// the next one, so that a message leaves the broker only once a checkpoint that reflects it is confirmed, and a line a
/// handler printed is printed once a checkpoint holds it (a host that goes on from that checkpoint prints it if the owner
/// record does not say it was).
/// </summary>
sealed class BatchPublisher(OutgoingEncoder encoder, OwnerRecords? ownerRecords, GroupCounters counters, GroupCheckpoints? checkpoints = null)
{
    // With held acknowledgements: the last delivery tag waiting for a checkpoint, and its session.
    (int Epoch, ulong Tag)? held;
    // With checkpoints: what the deliveries printed and report, for the next checkpoint to carry.
    readonly HeldRelease release = new();

    /// <summary>Steps 1 to 3 for <paramref name="batch"/>: two waits for the broker's confirms.</summary>
    public async Task PublishAsync(IBatchSession session, List<FinishedDelivery> batch)
    {
        await PublishOutputsAsync(session, batch);
        await session.WhenAllConfirmedAsync();

        if (checkpoints is null)
            await PublishReportsAsync(session, batch);
        else
            await PublishCheckpointsAsync(session, batch, checkpoints);
        await session.WhenAllConfirmedAsync();
        await SettleAsync(session, batch);
    }

    // Step 1: what the batch sent to other groups, and its dead letters.
    async Task PublishOutputsAsync(IBatchSession session, List<FinishedDelivery> batch)
    {
        foreach (var item in batch)
        {
            foreach (var message in item.Messages)
                await session.PublishAsync(message);
            if (item.Posts is { } posts) await PublishPostsAsync(session, item, posts);
        }
    }

    // Step 2 without checkpoints: the completions, and the owner record of a group that owns state.
    async Task PublishReportsAsync(IBatchSession session, List<FinishedDelivery> batch)
    {
        await PublishReportsAsync(session, ReportChunks.Of(batch.Select(f => (f.ReplyTo, f.Completion))));
        if (ownerRecords?.After(batch) is { } record) await session.PublishAsync(record);
    }

    // Step 3: rejections, and the acknowledgement up to the batch's last delivery of this session.
    async Task SettleAsync(IBatchSession session, List<FinishedDelivery> batch)
    {
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
                await session.RejectAsync(item.DeliveryTag);
            else
                lastTag = item.DeliveryTag;
        }
        var holdsAcknowledgements = checkpoints is not null;
        var acknowledge = holdsAcknowledgements ? coveredTag : lastTag;
        held = holdsAcknowledgements && lastTag is { } last && last != acknowledge ? (session.Epoch, last) : null;
        if (acknowledge is { } tag)
            await session.AcknowledgeUpToAsync(tag);
        counters.AddProcessed(batch.Count(f => f.Ran));
        // Those of a lost session too: they were dropped above, and the broker delivers them again.
        counters.Settled(deliveries);
    }

    // Steps 2 of a group that keeps checkpoints: seal, publish and confirm its checkpoints, then release them.
    async Task PublishCheckpointsAsync(IBatchSession session, List<FinishedDelivery> batch, GroupCheckpoints checkpoints)
    {
        // A delivery that printed nothing (a body over the size limit, rejected unread, included) is reported at once: only
        // a report that must follow printed lines waits for its checkpoint, so a source that drains often is not held up.
        // Before any checkpoint of the batch, on the same channel: a checkpoint the broker has names these deliveries as
        // done, and a host going on from it does not run them again (the ten-kill test hung on 89 reports lost so).
        await PublishReportsAsync(session, ReportChunks.Of(batch.Where(ReportsAtOnce).Select(f => (f.ReplyTo, f.Completion))));
        var confirmed = new List<FinishedDelivery>();
        foreach (var item in batch)
        {
            release.Follow(item.Generation);
            if (item.IsCheckpoint)
            {
                if (item.Checkpoint is null)
                {
                    var (output, reports) = release.Seal(item.Record!.Sequence, checkpoints.ReleasedSequence);
                    checkpoints.Seal(item, output, reports);
                }
                // Their posts are confirmed (step 1): once published, a report is never wrong, only early.
                await PublishReportsAsync(session, item.EarlyReports.Select(r => (r.ControlQueue, r.Body)));
                // Only on the session it was captured on: one of an earlier session is published again, if at all, once this
                // host is the active consumer again (GroupCheckpoints.PrepareAsync), and released then.
                if (item.Epoch != session.Epoch) continue;
                await session.PublishAsync(item.Checkpoint!.Value);
                confirmed.Add(item);
            }
            else if (!ReportsAtOnce(item))
                release.Add(item);
        }
        await session.WhenAllConfirmedAsync();

        foreach (var marker in confirmed) checkpoints.Confirmed(marker.CheckpointId!);
        // The last one carries what the ones before it did (none of them was released when it was sealed). Printed before
        // the owner record says so: a crash in between prints it again; the other way round could lose it.
        var last = confirmed.LastOrDefault();
        if (last is not null)
        {
            if (last.ReleaseOutput is { } output) HeldConsole.Print(output);
            ownerRecords!.Released(last.CheckpointId!);
            // What it carried is dropped from the held segments at the next seal (GroupCheckpoints.ReleasedSequence).
            checkpoints.MarkReleased(last.Record!);
        }
        if (ownerRecords!.After(batch, releasedNow: last is not null) is { } record) await session.PublishAsync(record);
        if (last is not null) await PublishReportsAsync(session, last.ReleaseReports.Select(r => (r.ControlQueue, r.Body)));
    }

    static bool ReportsAtOnce(FinishedDelivery item) => !item.IsCheckpoint && item.Output is null && !item.Held;

    static async Task PublishReportsAsync(IBatchSession session, IEnumerable<(string ControlQueue, byte[] Body)> reports)
    {
        var properties = WireFormat.ControlProperties(WireFormat.ReportContentType);
        foreach (var (controlQueue, body) in reports)
            // Not mandatory: a source that has gone away leaves no queue, and nobody to tell.
            await session.PublishAsync(new Outbound(controlQueue, properties, body, Mandatory: false));
    }

    // Written again when a batch is published again after a reconnect: the same bytes, with the same ids. Its completion
    // (and the count of posts that could not be sent) is made the first time only.
    async Task PublishPostsAsync(IBatchSession session, FinishedDelivery item, HandlerPosts posts)
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
                await session.PublishAsync(message);
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

/// <summary>
/// What <see cref="BatchPublisher"/> needs of a session: publishes whose confirms it can wait for, and the settling of the
/// session's deliveries (<see cref="ConsumerSession"/>).
/// </summary>
interface IBatchSession
{
    /// <summary>Which session this is: a delivery of another one cannot be settled here.</summary>
    int Epoch { get; }
    ValueTask PublishAsync(Outbound message);
    /// <summary>Waits for the confirms of every publish so far; throws if one was refused or returned.</summary>
    Task WhenAllConfirmedAsync();

    /// <summary>Rejects one delivery without requeueing it (the broker dead-letters it).</summary>
    ValueTask RejectAsync(ulong deliveryTag);
    /// <summary>Acknowledges every delivery up to <paramref name="deliveryTag"/> (the multiple flag).</summary>
    ValueTask AcknowledgeUpToAsync(ulong deliveryTag);
}
