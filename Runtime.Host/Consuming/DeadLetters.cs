using Microsoft.Extensions.Logging;
using RabbitMQ.Client.Events;
using Weaving.Execution;
using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>
/// Dead letters of one group: a delivery that is not run, and a message whose handler kept throwing, each moved to the
/// group's <c>.dead</c> queue with the reason in a header.
/// </summary>
public sealed class DeadLetters(GroupInfo group, string deadQueue, string buildHash, RecentIds recent, GroupCounters counters, ILogger logger)
{
    public string Queue => deadQueue;

    /// <summary>
    /// Moves a delivery to the dead-letter queue with the reason in a header. When it names its source run, the source
    /// is told it finished, as a failure: it must not wait for it forever, and must exit non-zero. A body over the size
    /// limit is not copied: the delivery is rejected, and the broker moves it to the dead-letter queue itself
    /// (<c>x-first-death-reason: rejected</c>); the reason is in the log line.
    /// </summary>
    public FinishedDelivery Reject(BasicDeliverEventArgs delivery, int sessionEpoch, DeliveryVerdict.Rejected rejected)
    {
        var (kind, id, replyTo, reason) = rejected;
        var idText = id?.ToString() ?? DeliveryCheck.Printable(delivery.BasicProperties.MessageId ?? $"(none; delivery {delivery.DeliveryTag})");
        logger.LogWarning("Group {Group}: message {Id} dead-lettered to {DeadQueue}: {Reason}", group.Name, idText, deadQueue, reason);
        counters.AddDeadLettered(1);
        var completion = id is { } reported && replyTo is not null ? new Completion(reported, 1, []) : (Completion?)null;
        if (completion is not null) counters.AddFailed(1);
        // Not remembered: when its rejection is lost with a connection, its redelivery must be rejected again, not
        // acknowledged as a duplicate (nothing else holds it). Reported twice then, which the source counts once.
        if (kind == RejectionKind.Oversize)
            return new FinishedDelivery(delivery.DeliveryTag, sessionEpoch, replyTo, ran: false) { Settlement = Settlement.Reject, Completion = completion };
        // Its dead letter is published (again after a reconnect): its redelivery is acknowledged as a duplicate.
        if (id is { } known) recent.Add(known);
        var props = WireFormat.DeadLetterProperties(delivery.BasicProperties, reason, group.Name);
        var dead = new Outbound(deadQueue, props, delivery.Body.ToArray(), Mandatory: true);
        return new FinishedDelivery(delivery.DeliveryTag, sessionEpoch, replyTo, ran: false) { Messages = [dead], Completion = completion };
    }

    /// <summary>
    /// The dead letter of a message whose handler still threw after its retries: its body as this host would send it (or
    /// the delivery's own body, for the delivered message itself, when it cannot be written again).
    /// </summary>
    public Outbound Failed(HandlerFailure failure, MessageId deliveredId, ReadOnlyMemory<byte> deliveredBody, string? replyTo,
        string? traceParent, string? traceState)
    {
        var e = failure.Exception;
        logger.LogError(e, "Stage {Stage} failed message {Id} after {Attempts} attempt(s): {Error}; dead-lettered to {DeadQueue}",
            failure.Message.Stage.Name, failure.Message.Id, failure.Attempts, e.Message, deadQueue);
        byte[] body;
        try { body = MessageCodec.Serialize(failure.Message.Message); }
        catch (Exception) { body = failure.Message.Id == deliveredId ? deliveredBody.ToArray() : []; }
        var props = WireFormat.StageMessageProperties(failure.Message.Stage.Name, failure.Message.Id, buildHash, replyTo,
            traceParent, traceState);
        var reason = $"handler threw {e.GetType().FullName}: {e.Message} ({failure.Attempts} attempt(s))";
        return new Outbound(deadQueue, WireFormat.DeadLetterProperties(props, reason, group.Name, e, failure.Attempts), body, Mandatory: true);
    }
}
