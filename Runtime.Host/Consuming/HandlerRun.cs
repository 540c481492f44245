using System.Diagnostics;
using RabbitMQ.Client.Events;
using Weaving.Execution;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>
/// Runs one accepted message through the group's <see cref="GroupExecutor"/> (which runs same-group posts in place, and
/// retries a handler that throws) inside a consumer span, and turns what it did into a <see cref="FinishedDelivery"/>:
/// its posts to other groups (kept as the handlers made them: <see cref="BatchPublisher"/> writes them as it publishes
/// them) and the dead letters of handlers that kept throwing.
/// </summary>
public sealed class HandlerRun(GroupInfo group, GroupExecutor executor, DeadLetters deadLetters, GroupCounters counters)
{
    // W3C trace context: a traceparent is 55 characters; a tracestate is at most 512. Longer ones are not carried on.
    const int MaxTraceParent = 55;
    const int MaxTraceState = 512;

    // Deliveries are run one at a time; the failures list is scratch, the posts list goes with its delivery.
    readonly List<HandlerFailure> failures = [];

    public FinishedDelivery Run(BasicDeliverEventArgs delivery, int sessionEpoch, StageInfo stage, StageMessage message, MessageId id, string? replyTo)
    {
        var properties = delivery.BasicProperties;
        var traceParent = WireFormat.ReadString(properties, WireFormat.TraceParentHeader);
        var traceState = WireFormat.ReadString(properties, WireFormat.TraceStateHeader);
        if (traceParent is not { Length: <= MaxTraceParent } || !ActivityContext.TryParse(traceParent, traceState, out var parent))
        {
            traceParent = traceState = null;
            parent = default;
        }
        if (traceState is { Length: > MaxTraceState }) traceState = null;
        using var activity = HostMetrics.Activities.StartActivity(stage.Name + " process", ActivityKind.Consumer, parent);
        activity?.SetTag("weaving.message_id", id.ToString());
        activity?.SetTag("weaving.group", group.Name);
        if (activity is not null)
        {
            traceParent = activity.Id;
            traceState = activity.TraceStateString;
        }

        var outgoing = new EnvelopeList();
        failures.Clear();
        executor.Execute(new Envelope(stage, message, id), outgoing, failures);

        var messages = new List<Outbound>(failures.Count);
        foreach (var failure in failures)
            messages.Add(deadLetters.Failed(failure, id, delivery.Body, replyTo, traceParent, traceState));
        // A results request captured the group's state into its message: the source that asked reads it from there
        // (docs/design.md §6).
        if (stage.Kind == StageKind.Results && failures.Count == 0 && replyTo is not null)
            messages.Add(Results(stage, message, id, replyTo));
        if (failures.Count > 0)
        {
            counters.AddFailed(failures.Count);
            counters.AddDeadLettered(failures.Count);
            activity?.SetStatus(ActivityStatusCode.Error);
        }
        activity?.SetTag("weaving.sent", outgoing.Count);
        return new FinishedDelivery(delivery.DeliveryTag, sessionEpoch, replyTo, ran: true)
        {
            Id = id,
            Messages = messages,
            Posts = new HandlerPosts(stage, id, outgoing, failures.Count, replyTo, traceParent, traceState),
        };
    }

    // The captured state for the source that asked; when the codec cannot write it (a dictionary made with a comparer
    // of its own, say), the reason instead, with no body: the source stops waiting and fails the run saying why, where
    // this host used to stop and leave the source waiting for ever.
    Outbound Results(StageInfo stage, StageMessage message, MessageId id, string replyTo)
    {
        var headers = new Dictionary<string, object?> { [WireFormat.IdHeader] = id.ToString() };
        ReadOnlyMemory<byte> body;
        try
        {
            body = MessageCodec.Serialize(message);
        }
        catch (Exception e) when (e is NotSupportedException or System.Text.Json.JsonException or InvalidOperationException)
        {
            var reason = WireFormat.OneLine($"the state of group {group.Name} cannot be sent back to the source: {e.Message}");
            headers[WireFormat.ExceptionMessageHeader] = reason.Length <= WireFormat.MaxExceptionChars ? reason : reason[..WireFormat.MaxExceptionChars];
            body = ReadOnlyMemory<byte>.Empty;
        }
        return new Outbound(replyTo, WireFormat.ControlProperties(WireFormat.ResultsContentType, headers), body, Mandatory: true);
    }
}
