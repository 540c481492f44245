using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Weaving.Host.Messaging;

/// <summary>
/// Declares a woven app's queues. Every process declares them, identically (a declaration with other arguments would be
/// refused), so that the first one to start, a host or the source, creates them, and no message is published to a queue
/// that does not exist yet.
/// <para>
/// A group's queue is a quorum queue with a delivery limit: a message that kills every process it is delivered to (one
/// whose headers overflow the client's parser, say) cannot be caught by the host, so the broker dead-letters it after
/// <c>deliveryLimit</c> deliveries that were not acknowledged. Quorum queues take single-active-consumer and
/// dead-lettering; they are always durable.
/// </para>
/// </summary>
public sealed class QueueTopology(WovenApp app, int deliveryLimit, string virtualHost)
{
    public int DeliveryLimit => deliveryLimit;

    public async Task DeclareAsync(IChannel channel, CancellationToken cancellationToken = default)
    {
        foreach (var group in app.Groups)
            await DeclareGroupAsync(channel, group, cancellationToken);
    }

    async Task DeclareGroupAsync(IChannel channel, GroupInfo group, CancellationToken cancellationToken)
    {
        var queue = QueueNames.ForGroup(app, group);
        var dead = QueueNames.DeadLetters(queue);
        await DeclareExactlyAsync(channel, dead, arguments: null, cancellationToken);
        var arguments = new Dictionary<string, object?>
        {
            ["x-queue-type"] = "quorum",
            ["x-delivery-limit"] = deliveryLimit,
            // Rejected messages, and those over the delivery limit, land in the dead-letter queue too; the host itself
            // dead-letters by publishing there with a reason header, and acknowledging the original.
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = dead,
        };
        // A group that owns state must run in one process at a time: the other consumers wait as hot standbys.
        if (group.OwnsState) arguments["x-single-active-consumer"] = true;
        await DeclareExactlyAsync(channel, queue, arguments, cancellationToken);
        if (group.OwnsState)
        {
            // Holds one message, the latest: the active host's owner record (see OwnerRecords).
            await DeclareExactlyAsync(channel, QueueNames.Owner(queue), new Dictionary<string, object?> { ["x-max-length"] = 1 },
                cancellationToken);
        }
        if (group.CheckpointStage is not null)
        {
            // Holds one message, the latest checkpoint: a durable last-value queue. A new one drops the one before only
            // once the broker has it (x-max-length counts ready messages), so there is always a whole checkpoint to read.
            await DeclareExactlyAsync(channel, QueueNames.Checkpoint(queue), new Dictionary<string, object?> { ["x-max-length"] = 1 },
                cancellationToken);
        }
    }

    /// <summary>
    /// The control queue of one source run. Durable, with persistent reports, so that a broker restart in the middle of
    /// a run loses no report; not exclusive, so that it outlives a lost connection; deleted by the source when the run
    /// ends, or by the broker <paramref name="expiresAfter"/> after its source stopped using it (a source that died).
    /// </summary>
    public Task DeclareControlQueueAsync(IChannel channel, string queue, TimeSpan expiresAfter, CancellationToken cancellationToken = default) =>
        DeclareExactlyAsync(channel, queue, new Dictionary<string, object?> { ["x-expires"] = (long)expiresAfter.TotalMilliseconds },
            cancellationToken);

    async Task DeclareExactlyAsync(IChannel channel, string queue, Dictionary<string, object?>? arguments, CancellationToken cancellationToken)
    {
        try
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments,
                cancellationToken: cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            throw new InvalidOperationException(
                $"queue {queue} exists with other settings than this host declares ({e.ShutdownReason.ReplyText}); " +
                $"it was made by another version, by hand, or with another Weaving:DeliveryLimit: delete it (rabbitmqctl delete_queue -p {virtualHost} {queue}) " +
                "and start again.", e);
        }
    }
}
