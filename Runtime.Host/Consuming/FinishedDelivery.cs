using Weaving.Execution;
using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>How a finished delivery is settled with the broker, once what it sent is safe.</summary>
public enum Settlement
{
    /// <summary>Acknowledged: it ran, was a duplicate, or its dead letter was published by the host.</summary>
    Acknowledge,
    /// <summary>Rejected without requeueing: the broker moves it to the dead-letter queue itself, so the host never
    /// copies its body (a body over the size limit).</summary>
    Reject,
}

/// <summary>
/// A delivery that is done here: what to publish, what to report, then how to settle it. <see cref="Epoch"/> names the
/// session it arrived on: a tag of another session cannot be acknowledged.
/// </summary>
public sealed class FinishedDelivery(ulong deliveryTag, int epoch, string? replyTo, bool ran)
{
    public ulong DeliveryTag { get; } = deliveryTag;
    public int Epoch { get; } = epoch;
    /// <summary>The control queue its completion is reported to (validated: see <see cref="DeliveryCheck"/>).</summary>
    public string? ReplyTo { get; } = replyTo;
    public bool Ran { get; } = ran;
    public Settlement Settlement { get; init; } = Settlement.Acknowledge;
    /// <summary>Messages ready to publish: dead letters.</summary>
    public List<Outbound> Messages { get; init; } = [];
    /// <summary>The handler's posts to other groups, written to the wire only when they are published.</summary>
    public HandlerPosts? Posts { get; init; }
    /// <summary>What is reported to the source; for a run, known once its posts were written.</summary>
    public Completion? Completion { get; set; }

    /// <summary>The message's id, when it had one.</summary>
    public MessageId? Id { get; init; }
    /// <summary>
    /// Not a delivery: a checkpoint of the group's state, taken after the deliveries before it in the stream
    /// (<see cref="GroupCheckpoints"/>), to publish once their output is confirmed; those deliveries are acknowledged once
    /// it is. Null <see cref="Checkpoint"/> with <see cref="IsCheckpoint"/>: the state could not be written, acknowledge anyway.
    /// </summary>
    public bool IsCheckpoint { get; private init; }
    public Outbound? Checkpoint { get; private init; }
    public string? CheckpointId { get; private init; }
    /// <summary>How many messages of its run the checkpoint reflects.</summary>
    public long CheckpointProcessed { get; private init; }

    /// <summary>A redelivery of a message that ran here already: acknowledged, nothing else.</summary>
    public static FinishedDelivery Duplicate(ulong deliveryTag, int epoch, MessageId id) => new(deliveryTag, epoch, null, ran: false) { Id = id };

    public static FinishedDelivery CheckpointOf(int epoch, Outbound? checkpoint, string id, long processed) =>
        new(0, epoch, null, ran: false) { IsCheckpoint = true, Checkpoint = checkpoint, CheckpointId = id, CheckpointProcessed = processed };
}

/// <summary>
/// The posts one message's handlers made to other groups, kept as the handlers made them (not yet written as bodies and
/// headers), with what their headers need: the parent, its run and its trace.
/// </summary>
public sealed record HandlerPosts(StageInfo Stage, MessageId Id, List<Envelope> Envelopes, int HandlerFailures, string? ReplyTo,
    string? TraceParent, string? TraceState);
