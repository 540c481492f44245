using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>What an owner record says: the host that wrote it, the run it last processed, and how many of that run's messages.</summary>
public readonly record struct OwnerRecord(string Host, string? HostId, string? Run, long Processed, string? Released = null);

/// <summary>
/// The owner record of a group that owns state, and what it tells about takeovers. The group's state lives in the
/// process of its active host; that host keeps the record up to date after each batch (which run it last processed, and
/// how many of that run's messages). A host that becomes the active consumer reads it. For a group that keeps
/// checkpoints, the record says how many messages will be replayed (see <see cref="GroupCheckpoints"/>); for one that
/// keeps none, if another host processed messages of the same run before, their effect on the state is lost, and this
/// host and the source say so.
/// </summary>
public sealed class OwnerRecords(GroupInfo group, string ownerQueue, HostInstance self, ILogger logger)
{
    // The run (control queue) of the last message processed here, and how many of that run ran here.
    string? lastRun;
    long processedInLastRun;
    // The last checkpoint whose held output was printed (by this host, or by the one before it).
    string? released;
    // The publish loop counts (After), the delivery loop sets the count after a recovery (ContinueFrom).
    readonly Lock gate = new();

    /// <summary>The group went on from a checkpoint of <paramref name="run"/> that reflects <paramref name="processed"/> messages: the count goes on from there.</summary>
    public void ContinueFrom(string? run, long processed)
    {
        lock (gate)
        {
            lastRun = run;
            processedInLastRun = processed;
        }
    }

    /// <summary>The record as the broker holds it, or null when there is none or it cannot be read.</summary>
    public async Task<OwnerRecord?> ReadAsync(IConnection connection, CancellationToken lost)
    {
        try
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: lost);
            var record = await channel.BasicGetAsync(ownerQueue, autoAck: false, lost);
            if (record is null) return null;
            await channel.BasicNackAsync(record.DeliveryTag, multiple: false, requeue: true, lost);
            return new OwnerRecord(DeliveryCheck.Printable(WireFormat.ReadString(record.BasicProperties, WireFormat.HostHeader) ?? "another host"),
                WireFormat.ReadString(record.BasicProperties, WireFormat.HostIdHeader), WireFormat.ReadString(record.BasicProperties, WireFormat.RunHeader),
                WireFormat.ReadLong(record.BasicProperties, WireFormat.ProcessedHeader) ?? 0,
                WireFormat.ReadString(record.BasicProperties, WireFormat.ReleasedHeader));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Group {Group}: could not read its owner record ({Error})", group.Name, e.Message);
            return null;
        }
    }

    /// <summary>
    /// The output held in checkpoint <paramref name="checkpointId"/> is printed: every record from now on says so, and a host
    /// that goes on from that checkpoint does not print it again.
    /// </summary>
    public void Released(string checkpointId)
    {
        lock (gate) released = checkpointId;
    }

    /// <summary>The record as it stands, to publish now.</summary>
    public Outbound Current()
    {
        lock (gate) return Record(lastRun, processedInLastRun, released);
    }

    /// <summary>
    /// The record to publish after <paramref name="batch"/>, or null when nothing in it ran here and
    /// <paramref name="releasedNow"/> is false.
    /// </summary>
    public Outbound? After(IReadOnlyList<FinishedDelivery> batch, bool releasedNow = false)
    {
        var any = false;
        string? run;
        long processed;
        string? printed;
        lock (gate)
        {
            foreach (var item in batch)
            {
                if (!item.Ran) continue;
                any = true;
                if (item.ReplyTo != lastRun)
                {
                    lastRun = item.ReplyTo;
                    processedInLastRun = 0;
                }
                processedInLastRun++;
            }
            (run, processed, printed) = (lastRun, processedInLastRun, released);
        }
        return any || releasedNow ? Record(run, processed, printed) : null;
    }

    Outbound Record(string? run, long processed, string? printed)
    {
        var headers = new Dictionary<string, object?>
        {
            [WireFormat.HostIdHeader] = self.Id,
            [WireFormat.HostHeader] = self.Description,
            [WireFormat.GroupHeader] = group.Name,
            [WireFormat.ProcessedHeader] = processed,
        };
        if (run is not null) headers[WireFormat.RunHeader] = run;
        if (printed is not null) headers[WireFormat.ReleasedHeader] = printed;
        return new Outbound(ownerQueue, WireFormat.ControlProperties("application/vnd.weaving.owner", headers), ReadOnlyMemory<byte>.Empty,
            Mandatory: false);
    }

    /// <summary>
    /// Called with the first delivery of a connection (this host just became the active consumer): reads the record and,
    /// on a takeover within the same run, warns and tells the run's source, before this host reports anything.
    /// </summary>
    public async Task CheckTakeoverAsync(IConnection connection, string? run, CancellationToken lost)
    {
        try
        {
            await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), lost);
            var record = await channel.BasicGetAsync(ownerQueue, autoAck: false, lost);
            if (record is null) return;
            await channel.BasicNackAsync(record.DeliveryTag, multiple: false, requeue: true, lost);
            // Anyone who may publish to the owner queue could write this record: what is logged and passed on is printable.
            var previous = DeliveryCheck.Printable(WireFormat.ReadString(record.BasicProperties, WireFormat.HostHeader) ?? "another host");
            var previousId = WireFormat.ReadString(record.BasicProperties, WireFormat.HostIdHeader);
            var previousRun = WireFormat.ReadString(record.BasicProperties, WireFormat.RunHeader);
            var processed = WireFormat.ReadLong(record.BasicProperties, WireFormat.ProcessedHeader) ?? 0;
            if (previousId == self.Id || previousRun != run || processed <= 0) return;

            logger.LogWarning("Group {Group}: TAKEOVER: this host ({Self}) became the active consumer after {Previous}, which had processed " +
                "{Processed} message(s) of this run. The state those messages built lived in that host and is lost (state " +
                "checkpoints are not implemented): this host goes on from empty state, so the run's output will differ " +
                "from an uninterrupted run", group.Name, self, previous, processed);
            if (run is null) return;
            var headers = new Dictionary<string, object?>
            {
                [WireFormat.GroupHeader] = group.Name,
                [WireFormat.HostHeader] = self.Description,
                [WireFormat.PreviousHostHeader] = previous,
                [WireFormat.ProcessedHeader] = processed,
            };
            await channel.BasicPublishAsync("", run, mandatory: false, WireFormat.ControlProperties(WireFormat.TakeoverContentType, headers),
                ReadOnlyMemory<byte>.Empty, lost);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Group {Group}: could not read its owner record ({Error}); a takeover would go unreported", group.Name, e.Message);
        }
    }
}
