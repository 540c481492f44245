using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>What <see cref="GroupCheckpoints.PrepareAsync"/> did to the group's state.</summary>
public enum PreparedState
{
    /// <summary>The state in hand was the right one: of the delivery's run, and at least as new as the stored checkpoint.</summary>
    Kept,
    /// <summary>Went on from the run's stored checkpoint (another host's, or this host's after it lost the broker).</summary>
    Restored,
    /// <summary>Started from the initial state: a new run, or a run no checkpoint was written of.</summary>
    Initial,
    /// <summary>Started from the initial state because the previous host's state could not be checkpointed: it is lost.</summary>
    Lost,
}

/// <summary>
/// The checkpoints of a group that owns state (docs/design.md §6). Between two messages the consumer asks whether one is
/// due (<see cref="Due"/>) and captures it (<see cref="Capture"/>): the group's state object, written with the message
/// codec, and the ids of the messages it reflects. The capture travels in the consumer's stream of finished deliveries,
/// after the messages it reflects: their output is confirmed before it is published, and the messages are acknowledged
/// only once it is confirmed (see <see cref="BatchPublisher"/>). So every message the broker no longer holds is in the
/// latest checkpoint, and every message after it is delivered again.
/// <para>
/// Which state the group is in (<see cref="PrepareAsync"/>): each run of the source starts from the state the type
/// initializers gave (captured when the host started); a host that becomes the active consumer, or sees a message of
/// another run, goes on from the run's latest checkpoint, unless it wrote that checkpoint itself (its state is then
/// newer, and the messages after it are recognised by id).
/// </para>
/// </summary>
public sealed class GroupCheckpoints
{
    readonly WovenApp app;
    readonly GroupInfo group;
    readonly StageInfo stage;
    readonly string queue;
    readonly HostInstance self;
    readonly RecentIds recent;
    readonly ILogger logger;
    readonly int every;
    readonly long intervalTicks;
    readonly int maxBytes;
    // The state the type initializers give, written when the host started: each run starts from it.
    readonly byte[] initial;

    // The run the state belongs to, how many of its messages it reflects, and the checkpoint it descends from.
    string? run;
    long processed;
    string? syncedWith;
    long sequence;
    // Ids of the messages run or recognised since the last checkpoint, and in the interval before (a message is
    // acknowledged after the checkpoint that follows it: a crash before the acknowledgement reached the broker delivers
    // it again, so the checkpoint after that one still names it).
    List<MessageId> since = [];
    List<MessageId> before = [];
    // Deliveries of this session finished since the last checkpoint (they wait for it to be acknowledged), and the bytes of
    // console output and drain reports they hold for it.
    int held;
    int printed;
    long heldBytes;
    long firstHeldAt;
    bool releaseTooBig;
    // The stored checkpoint of the run the state belongs to, as PrepareAsync last read it (or published it again).
    CheckpointRecord? latestStored;
    // The last checkpoint whose held output this host printed, and the sequence of the last of its own (the publish loop
    // and PrepareAsync write them, each while the other does not run).
    volatile string? released;
    long releasedSequence;
    // Changes each time the state is replaced by another (PrepareAsync): what was held before it is not released.
    int generation;
    bool tooBig;
    // The last checkpoint this host captured, until the broker confirmed it: on a new session it is published again only
    // if no other host wrote one meanwhile (see PrepareAsync).
    Unconfirmed? unconfirmed;
    // Runs whose messages share the state of `run` because `run` was still going on when their first message came.
    readonly HashSet<string> joined = new(StringComparer.Ordinal);

    sealed record Unconfirmed(string Id, Outbound Checkpoint);

    /// <summary>
    /// Changes each time <see cref="PrepareAsync"/> replaces the group's state: what deliveries of an earlier generation held
    /// (console output, drain reports) is dropped, since their messages are delivered again and run on the new state.
    /// </summary>
    public int Generation => generation;

    public GroupCheckpoints(WovenApp app, GroupInfo group, StageInfo stage, string groupQueue, HostInstance self, RecentIds recent,
        WeavingOptions options, int prefetch, ILogger logger)
    {
        this.app = app;
        this.group = group;
        this.stage = stage;
        queue = QueueNames.Checkpoint(groupQueue);
        this.self = self;
        this.recent = recent;
        this.logger = logger;
        // Messages after a checkpoint stay unacknowledged until the next one: at half the prefetch, the broker keeps
        // delivering while a checkpoint is written.
        every = Math.Max(1, Math.Min(options.CheckpointEvery, prefetch / 2));
        intervalTicks = (long)(options.CheckpointInterval.TotalSeconds * Stopwatch.Frequency);
        maxBytes = options.MaxMessageBytes;
        initial = MessageCodec.Serialize(Snapshot());
    }

    public string Queue => queue;

    /// <summary>Messages after which a checkpoint is taken.</summary>
    public int Every => every;

    /// <summary>The run the group's state belongs to, and how many of its messages it reflects.</summary>
    public string? Run => run;
    public long Processed => processed;

    /// <summary>Checkpoints written (confirmed or not) by this host.</summary>
    public long Written => sequence;

    /// <summary>Deliveries finished since the last checkpoint.</summary>
    public int Held => held;

    /// <summary>
    /// A checkpoint should be taken now: <c>CheckpointEvery</c> messages, or <c>CheckpointInterval</c>, since the last, or
    /// a quarter of <c>MaxMessageBytes</c> of output and reports held for it.
    /// </summary>
    public bool Due => held >= every || heldBytes >= maxBytes / 4 || (held > 0 && Stopwatch.GetTimestamp() - firstHeldAt >= intervalTicks);

    /// <summary>Deliveries since the last checkpoint printed: their lines (and reports) wait for the next one.</summary>
    public bool HoldsOutput => Volatile.Read(ref printed) > 0;

    /// <summary>How long until <see cref="Due"/> turns true by time alone, or null when nothing is held.</summary>
    public TimeSpan? UntilDue => held == 0 ? null
        : TimeSpan.FromSeconds(Math.Max(0, intervalTicks - (Stopwatch.GetTimestamp() - firstHeldAt)) / (double)Stopwatch.Frequency);

    /// <summary>The state must be checked before a delivery of <paramref name="deliveryRun"/> runs: a new session, or another run.</summary>
    public bool MustPrepare(bool newSession, string? deliveryRun) => newSession || IsOtherRun(deliveryRun);

    /// <summary>A delivery of another run while this one's messages wait for a checkpoint: those are checkpointed first.</summary>
    public bool SwitchesRun(string? deliveryRun) => run is not null && IsOtherRun(deliveryRun) && held > 0;

    bool IsOtherRun(string? deliveryRun) => deliveryRun is not null && deliveryRun != run && !joined.Contains(deliveryRun);

    /// <summary>
    /// Puts the group in the state a delivery of <paramref name="deliveryRun"/> must find (see the class summary), on the
    /// first delivery of a session and on each change of run. <paramref name="owner"/> is the owner record, which says how
    /// many messages the previous host had processed: those after the checkpoint run again.
    /// </summary>
    public async Task<PreparedState> PrepareAsync(IConnection connection, bool newSession, string? deliveryRun, OwnerRecord? owner, CancellationToken lost)
    {
        var prepared = await PrepareStateAsync(connection, newSession, deliveryRun, owner, lost);
        if (prepared != PreparedState.Kept) generation++;
        return prepared;
    }

    /// <summary>
    /// The checkpoint the group's state now descends from, when it holds output or reports this host has not released: its
    /// writer may have died between the broker's confirm and printing it. Print its output unless <paramref name="owner"/>
    /// says it was printed, and publish its reports (a report applied twice changes nothing), then <see cref="MarkReleased"/>.
    /// </summary>
    public CheckpointRecord? Unreleased => latestStored is { HoldsRelease: true } record && record.Id != released && record.Id == syncedWith ? record : null;

    /// <summary>The held output and reports of checkpoint <paramref name="checkpoint"/> were released (printed, published).</summary>
    public void MarkReleased(CheckpointRecord checkpoint)
    {
        released = checkpoint.Id;
        if (checkpoint.WriterId == self.Id) Volatile.Write(ref releasedSequence, Math.Max(Volatile.Read(ref releasedSequence), checkpoint.Sequence));
    }

    /// <summary>The sequence of this host's last checkpoint that was released (what it carried needs no other checkpoint).</summary>
    public long ReleasedSequence => Volatile.Read(ref releasedSequence);

    async Task<PreparedState> PrepareStateAsync(IConnection connection, bool newSession, string? deliveryRun, OwnerRecord? owner, CancellationToken lost)
    {
        if (newSession)
        {
            held = 0;
            printed = 0;
            heldBytes = 0;
        }
        var stored = await ReadLatestAsync(connection, lost);
        // A checkpoint captured on the session before, which the broker may not have: published again now, as the active
        // consumer (no other host runs the group's messages), and only when the stored one is this host's own, older one.
        // Published again before consuming, it could overwrite a newer checkpoint of a host that took over meanwhile.
        if (newSession && Volatile.Read(ref unconfirmed) is { } mine)
        {
            Interlocked.CompareExchange(ref unconfirmed, null, mine);
            if (mine.Id == syncedWith && stored?.Id != mine.Id && (stored is null || stored.WriterId == self.Id))
            {
                await PublishAsync(connection, mine.Checkpoint, lost);
                stored = await ReadLatestAsync(connection, lost);
            }
        }
        // A run begins with the state the type initializers give only once the run the state belongs to has ended (its
        // source deleted its control queue): messages of another run while it goes on (a second source, a sender of its
        // own) share its state, as they did in one process.
        var holder = run ?? stored?.Run;
        var target = deliveryRun ?? holder;
        if (target is not null && holder is not null && target != holder && (joined.Contains(target) || await IsGoingOnAsync(connection, holder, lost)))
        {
            joined.Add(target);
            target = holder;
        }
        var latest = stored is not null && stored.Run == target ? stored : null;
        latestStored = latest;
        if (run == target && (latest is null || latest.Id == syncedWith)) return PreparedState.Kept;
        if (run is not null && run != target) joined.Clear();

        var previousRun = run;
        held = 0;
        printed = 0;
        heldBytes = 0;
        before = [];
        since = [];
        run = target;
        if (latest is { Unwritable: { } why })
        {
            ((StateSnapshot)MessageCodec.Deserialize(stage.MessageType, initial)).Apply();
            recent.Reset(latest.Ids);
            before = [.. latest.Ids];
            processed = latest.Processed;
            syncedWith = latest.Id;
            logger.LogWarning("Group {Group}: checkpoint {Checkpoint} of {Writer} holds no state ({Why}): this host starts from the initial state",
                group.Name, latest.Id, latest.Writer, why);
            return PreparedState.Lost;
        }
        if (latest is not null)
        {
            ((StateSnapshot)MessageCodec.Deserialize(stage.MessageType, latest.State.Span)).Apply();
            recent.Reset(latest.Ids);
            before = [.. latest.Ids];
            processed = latest.Processed;
            syncedWith = latest.Id;
            var replayed = owner is { } o && o.Run == target && o.HostId != self.Id ? Math.Max(0, o.Processed - latest.Processed) : 0;
            logger.LogWarning("Group {Group}: RECOVERED: this host ({Self}) goes on from checkpoint {Checkpoint} (written by {Writer}, " +
                "reflecting {Processed} message(s) of this run, {Bytes} bytes); {Replayed} message(s) processed after it by {Previous} " +
                "will be replayed (delivered again and applied once)", group.Name, self, latest.Id, latest.Writer, latest.Processed,
                latest.State.Length, replayed, owner?.Host ?? "the previous host");
            return PreparedState.Restored;
        }
        ((StateSnapshot)MessageCodec.Deserialize(stage.MessageType, initial)).Apply();
        recent.Reset([]);
        processed = 0;
        syncedWith = null;
        if (owner is { } previous && previous.Run == target && previous.HostId != self.Id && previous.Processed > 0)
            logger.LogWarning("Group {Group}: RECOVERED: this host ({Self}) took over from {Previous}, which wrote no checkpoint of this " +
                "run: it starts from the initial state, and the {Replayed} message(s) {Previous} had processed will be replayed",
                group.Name, self, previous.Host, previous.Processed, previous.Host);
        else if (previousRun is not null && target is not null)
            logger.LogInformation("Group {Group}: a new run: state reset to what the type initializers give", group.Name);
        return PreparedState.Initial;
    }

    /// <summary>
    /// A delivery finished here (it ran, or was recognised as a redelivery): it waits for the next checkpoint, with
    /// <paramref name="holding"/> bytes of console output and drain report.
    /// </summary>
    public void Finished(MessageId? id, bool ran, long holding = 0, bool printed = false)
    {
        if (id is { } known) since.Add(known);
        if (ran) processed++;
        heldBytes += holding;
        if (printed) Volatile.Write(ref this.printed, this.printed + 1);
        if (held++ == 0) firstHeldAt = Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// The group's state now, between two messages, as a checkpoint to publish after the deliveries finished before it
    /// (<see cref="Seal"/> adds what they printed and report once the publish loop knows it).
    /// A state that cannot be written (over <c>MaxMessageBytes</c>, or a value the codec refuses, such as a dictionary with
    /// another comparer) gives a checkpoint that says so: the deliveries are acknowledged, and a host that takes over
    /// knows that the state is lost, and says so, as without checkpoints. Call <see cref="Committed"/> once it is in the
    /// consumer's stream.
    /// </summary>
    public FinishedDelivery Capture(int epoch)
    {
        var id = $"{self.Id}-{sequence + 1}";
        string? unwritable = null;
        byte[] state = [];
        try
        {
            state = MessageCodec.Serialize(Snapshot());
            if (state.Length + (since.Count + before.Count) * 32 > maxBytes)
                unwritable = $"the state takes {state.Length} bytes, over Weaving:MaxMessageBytes ({maxBytes})";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            unwritable = $"the state cannot be written ({e.GetType().Name}: {WireFormat.OneLine(e.Message)})";
        }
        if (unwritable is not null)
        {
            state = [];
            if (!tooBig)
                logger.LogError("Group {Group}: {Why}: its checkpoints say that it is lost, and a host that takes over starts " +
                    "from the initial state and says so (as without checkpoints)", group.Name, unwritable);
            tooBig = true;
        }
        var record = new CheckpointRecord(id, sequence + 1, run, processed, app.BuildHash, self.Description, self.Id,
            [.. before, .. since], state) { Unwritable = unwritable };
        return FinishedDelivery.CheckpointOf(epoch, generation, record);
    }

    /// <summary>
    /// Completes the checkpoint <paramref name="marker"/> with what the deliveries before it printed and report, once the
    /// publish loop knows their reports, into the message to publish. When that does not fit in <c>MaxMessageBytes</c>, the
    /// reports go out before the checkpoint instead (<see cref="FinishedDelivery.EarlyReports"/>: a report lost would
    /// leave a draining source waiting), and if the output alone does not fit either, the checkpoint goes without it
    /// (this host prints it after the confirm all the same, but a crash in between loses it).
    /// </summary>
    public void Seal(FinishedDelivery marker, string? output, IReadOnlyList<HeldReport> reports)
    {
        var record = marker.Record! with { Output = output, Reports = reports };
        var outbound = record.ToOutbound(queue, group.Name);
        IReadOnlyList<HeldReport> early = [];
        if (outbound.Body.Length > maxBytes && record.HoldsRelease)
        {
            early = reports;
            record = record with { Reports = [] };
            outbound = record.ToOutbound(queue, group.Name);
            if (outbound.Body.Length > maxBytes)
            {
                record = record with { Output = null };
                outbound = record.ToOutbound(queue, group.Name);
            }
            if (!releaseTooBig)
                logger.LogWarning("Group {Group}: checkpoint {Checkpoint} with the output and reports of its messages is over " +
                    "Weaving:MaxMessageBytes ({Max}): the reports are published before it{Output}", group.Name, record.Id, maxBytes,
                    record.Output is null && output is not null ? ", and the output is not in it: a crash between its confirm and the printing loses that" : "");
            releaseTooBig = true;
        }
        marker.Sealed(output, early.Count > 0 ? [] : reports, early, outbound);
        Volatile.Write(ref unconfirmed, new Unconfirmed(record.Id, outbound));
    }

    /// <summary>The checkpoint <paramref name="marker"/> follows the deliveries it reflects in the consumer's stream.</summary>
    public void Committed(FinishedDelivery marker)
    {
        sequence++;
        syncedWith = marker.CheckpointId;
        before = since;
        since = [];
        held = 0;
        printed = 0;
        heldBytes = 0;
    }

    /// <summary>The broker confirmed checkpoint <paramref name="id"/>, published on the session it was captured on.</summary>
    public void Confirmed(string id)
    {
        if (Volatile.Read(ref unconfirmed) is { } pending && pending.Id == id) Interlocked.CompareExchange(ref unconfirmed, null, pending);
    }

    // A run goes on while its source consumes its control queue: the source deletes the queue when the run ends, and a
    // source that died (or a process that ended before the deletion reached the broker) leaves it without a consumer,
    // until the broker expires it. The run is that queue's name (DeliveryCheck let only such names through).
    static async Task<bool> IsGoingOnAsync(IConnection connection, string run, CancellationToken lost)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: lost);
        try
        {
            var queue = await channel.QueueDeclarePassiveAsync(run, lost);
            return queue.ConsumerCount > 0;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return false;
        }
    }

    static async Task PublishAsync(IConnection connection, Outbound checkpoint, CancellationToken lost)
    {
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), lost);
        await channel.BasicPublishAsync("", checkpoint.Queue, checkpoint.Mandatory, checkpoint.Properties, checkpoint.Body, lost);
    }

    StateSnapshot Snapshot()
    {
        var snapshot = (StateSnapshot)Activator.CreateInstance(stage.MessageType)!;
        snapshot.Capture();
        return snapshot;
    }

    async Task<CheckpointRecord?> ReadLatestAsync(IConnection connection, CancellationToken lost)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: lost);
        var message = await channel.BasicGetAsync(queue, autoAck: false, lost);
        if (message is null) return null;
        await channel.BasicNackAsync(message.DeliveryTag, multiple: false, requeue: true, lost);
        CheckpointRecord record;
        try
        {
            record = CheckpointRecord.Read(message.BasicProperties, message.Body);
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            logger.LogError("Group {Group}: the checkpoint in {Queue} cannot be read ({Error}); it is ignored", group.Name, queue,
                WireFormat.OneLine(e.Message));
            return null;
        }
        if (record.Build == app.BuildHash) return record;
        logger.LogWarning("Group {Group}: the checkpoint in {Queue} is of build {Build}, not {This}: it is ignored",
            group.Name, queue, DeliveryCheck.Printable(record.Build), app.BuildHash);
        return null;
    }
}
