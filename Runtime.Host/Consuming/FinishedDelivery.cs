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
    /// For a group that keeps checkpoints: what its handlers printed (held: <see cref="HeldConsole"/>), until the publish
    /// loop moves it into the next checkpoint; and the <see cref="GroupCheckpoints.Generation"/> of the state it ran on.
    /// </summary>
    public string? Output { get; set; }
    public int Generation { get; set; }
    /// <summary>Its output and report are in the publish loop's account for the next checkpoint (once, however often it is published).</summary>
    public bool Held { get; set; }

    /// <summary>
    /// Not a delivery: a checkpoint of the group's state, taken after the deliveries before it in the stream
    /// (<see cref="GroupCheckpoints"/>), to publish once their output is confirmed; those deliveries are acknowledged once
    /// it is. The publish loop seals it (<see cref="GroupCheckpoints.Seal"/>) with what they printed and report, which it
    /// releases once the broker confirmed it.
    /// </summary>
    public bool IsCheckpoint => Record is not null;
    public CheckpointRecord? Record { get; private set; }
    /// <summary>The message to publish, once sealed.</summary>
    public Outbound? Checkpoint { get; private set; }
    public string? CheckpointId => Record?.Id;
    /// <summary>How many messages of its run the checkpoint reflects.</summary>
    public long CheckpointProcessed => Record?.Processed ?? 0;
    /// <summary>Once sealed: the output and drain reports the checkpoint's messages held, to release after its confirm.</summary>
    public string? ReleaseOutput { get; private set; }
    public IReadOnlyList<HeldReport> ReleaseReports { get; private set; } = [];
    /// <summary>Reports too big to go in the checkpoint with it: published before it (<see cref="GroupCheckpoints.Seal"/>).</summary>
    public IReadOnlyList<HeldReport> EarlyReports { get; private set; } = [];

    public void Sealed(string? output, IReadOnlyList<HeldReport> reports, IReadOnlyList<HeldReport> early, Outbound checkpoint)
    {
        ReleaseOutput = output;
        ReleaseReports = reports;
        EarlyReports = early;
        Checkpoint = checkpoint;
    }

    /// <summary>A redelivery of a message that ran here already: acknowledged, nothing else.</summary>
    public static FinishedDelivery Duplicate(ulong deliveryTag, int epoch, MessageId id) => new(deliveryTag, epoch, null, ran: false) { Id = id };

    public static FinishedDelivery CheckpointOf(int epoch, int generation, CheckpointRecord record) =>
        new(0, epoch, null, ran: false) { Record = record, Generation = generation };
}

/// <summary>
/// The posts one message's handlers made to other groups, kept as the handlers made them (not yet written as bodies and
/// headers), with what their headers need: the parent, its run and its trace.
/// </summary>
public sealed record HandlerPosts(StageInfo Stage, MessageId Id, EnvelopeList Envelopes, int HandlerFailures, string? ReplyTo,
    string? TraceParent, string? TraceState);
