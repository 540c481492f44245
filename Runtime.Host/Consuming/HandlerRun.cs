using System.Diagnostics;
using RabbitMQ.Client.Events;
using Weaving.Execution;
using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>
/// Runs one accepted message through the group's <see cref="GroupExecutor"/> (which runs same-group posts in place, and
/// retries a handler that throws) inside a consumer span, and turns what it did into a <see cref="FinishedDelivery"/>:
/// its posts to other groups, the dead letters of handlers that kept throwing, and its completion.
/// </summary>
public sealed class HandlerRun(GroupInfo group, GroupExecutor executor, OutgoingEncoder encoder, DeadLetters deadLetters, GroupCounters counters)
{
    // Scratch lists: deliveries are run one at a time.
    readonly List<Envelope> outgoing = [];
    readonly List<HandlerFailure> failures = [];

    public FinishedDelivery Run(BasicDeliverEventArgs delivery, int sessionEpoch, StageInfo stage, StageMessage message, MessageId id, string? replyTo)
    {
        var properties = delivery.BasicProperties;
        var traceParent = WireFormat.ReadString(properties, WireFormat.TraceParentHeader);
        var traceState = WireFormat.ReadString(properties, WireFormat.TraceStateHeader);
        ActivityContext.TryParse(traceParent, traceState, out var parent);
        using var activity = HostMetrics.Activities.StartActivity(stage.Name + " process", ActivityKind.Consumer, parent);
        activity?.SetTag("weaving.message_id", id.ToString());
        activity?.SetTag("weaving.group", group.Name);
        if (activity is not null)
        {
            traceParent = activity.Id;
            traceState = activity.TraceStateString;
        }

        outgoing.Clear();
        failures.Clear();
        executor.Execute(new Envelope(stage, message, id), outgoing, failures);

        var toPublish = new List<Outbound>(outgoing.Count + failures.Count);
        var sent = new List<MessageId>(outgoing.Count);
        var failed = failures.Count;
        foreach (var next in outgoing)
        {
            if (encoder.Encode(next, stage, id, replyTo, traceParent, traceState) is { } encoded)
            {
                toPublish.Add(encoded);
                sent.Add(next.Id);
            }
            else
                failed++;
        }
        foreach (var failure in failures)
            toPublish.Add(deadLetters.Failed(failure, id, delivery.Body, replyTo, traceParent, traceState));
        if (failed > 0)
        {
            counters.AddFailed(failed);
            counters.AddDeadLettered(failures.Count);
        }
        activity?.SetTag("weaving.sent", sent.Count);
        if (failed > 0) activity?.SetStatus(ActivityStatusCode.Error);
        return new FinishedDelivery(delivery.DeliveryTag, sessionEpoch, replyTo, new Completion(id, failed, [.. sent]), toPublish, Ran: true);
    }
}
