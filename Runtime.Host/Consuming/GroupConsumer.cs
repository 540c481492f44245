using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Weaving.Execution;
using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>
/// Consumes one stage group's queue: sessions and reconnects. Each delivery is checked (<see cref="DeliveryCheck"/>),
/// dead-lettered (<see cref="DeadLetters"/>) or run (<see cref="HandlerRun"/>), and handed to a publish loop, so that the
/// next delivery runs while the last one's output is in flight. The publish loop takes whatever has finished as one
/// batch and publishes, then acknowledges it (<see cref="BatchPublisher"/>). It holds at most <see cref="DeliveryWindow"/>
/// deliveries; a stop that finds a handler still running after <c>Weaving:ShutdownTimeout</c> names it (<see cref="Running"/>).
/// <para>
/// Losing the broker. The deliveries of a dead channel cannot be acknowledged, and the broker gives them out again. What
/// ran here is not run again: the finished batches are kept, published again on the next connection (before consuming
/// starts again), and their redeliveries are recognised by id and acknowledged without running. Between two connections
/// nothing runs: a delivery that arrives on a dead channel is left for its redelivery.
/// </para>
/// </summary>
public sealed class GroupConsumer : IAsyncDisposable
{
    readonly WovenApp app;
    readonly GroupInfo group;
    readonly BrokerConnection broker;
    readonly WeavingOptions options;
    readonly ILogger logger;
    readonly Action<Exception> fatal;
    readonly string queue;
    readonly GroupCounters counters;
    readonly DeliveryCheck check;
    readonly DeadLetters deadLetters;
    readonly HandlerRun handlerRun;
    readonly OwnerRecords? ownerRecords;
    readonly GroupCheckpoints? checkpoints;
    // Held while a message runs, and while a checkpoint is captured: a checkpoint is taken between two messages.
    readonly SemaphoreSlim stateGate = new(1, 1);
    readonly BatchPublisher batches;
    readonly QueueTopology topology;
    readonly DeliveryWindow window;
    readonly Channel<FinishedDelivery> finished = Channel.CreateUnbounded<FinishedDelivery>(new UnboundedChannelOptions { SingleReader = true });
    // Finished deliveries taken from `finished` whose output is not known to be confirmed (the run loop's only).
    readonly List<FinishedDelivery> pending = [];
    readonly TaskCompletionSource consuming = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly CancellationTokenSource stop = new();

    ConsumerSession? session;
    Task? run;
    volatile bool stopping;
    int handling;
    int epoch;
    // The message whose handler runs now, if any: named when a stop has to abandon it.
    volatile RunningMessage? running;

    public GroupConsumer(WovenApp app, GroupInfo group, BrokerConnection broker, WeavingOptions options, HostMetrics metrics,
        ILogger logger, Action<Exception> fatal)
    {
        this.app = app;
        this.group = group;
        this.broker = broker;
        this.options = options;
        this.logger = logger;
        this.fatal = fatal;
        queue = QueueNames.ForGroup(app, group);
        counters = new GroupCounters(group.Name, metrics);
        var recent = new RecentIds(options.DuplicateWindow);
        check = new DeliveryCheck(app, group, recent, options.MaxMessageBytes);
        deadLetters = new DeadLetters(group, QueueNames.DeadLetters(queue), app.BuildHash, recent, counters, logger);
        var executor = new GroupExecutor(group)
        {
            Retries = Math.Max(0, options.Retries),
            Retrying = (message, e, attempt) => logger.LogWarning("Stage {Stage} message {Id} threw {Type}: {Error}; running it again ({Attempt} of {Retries})",
                message.Stage.Name, message.Id, e.GetType().FullName, e.Message, attempt, options.Retries),
        };
        handlerRun = new HandlerRun(group, executor, deadLetters, counters);
        ownerRecords = group.OwnsState ? new OwnerRecords(group, QueueNames.Owner(queue), HostInstance.Current, logger) : null;
        topology = new QueueTopology(app, options.DeliveryLimit, broker.VirtualHost);
        window = DeliveryWindow.For(options);
        checkpoints = group.OwnsState && options.Checkpoints && group.CheckpointStage is { } checkpointStage
            ? StartCheckpoints(checkpointStage, recent)
            : null;
        // Its handlers' console output waits for the checkpoint that reflects it (HeldConsole).
        if (checkpoints is not null) HeldConsole.Install();
        batches = new BatchPublisher(new OutgoingEncoder(app, options.MaxMessageBytes, logger), ownerRecords, counters,
            checkpoints);
    }

    // Captures the state the type initializers give, which runs them: one that throws would throw at the group's first
    // message anyway; the group then runs without checkpoints, as before them.
    GroupCheckpoints? StartCheckpoints(StageInfo checkpointStage, RecentIds recent)
    {
        try
        {
            return new GroupCheckpoints(app, group, checkpointStage, queue, HostInstance.Current, recent, options, window.Prefetch, logger);
        }
        catch (Exception e)
        {
            logger.LogError("Group {Group}: its initial state cannot be captured ({Type}: {Error}); it runs without checkpoints",
                group.Name, e.GetType().Name, WireFormat.OneLine(e.Message));
            return null;
        }
    }

    public GroupInfo Group => group;
    public long Processed => counters.Processed;
    public GroupCounters Counters => counters;

    /// <summary>The message whose handler is running now, or null.</summary>
    public RunningMessage? Running => running;

    /// <summary>Starts consuming; returns once the first consumer is registered with the broker.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        run = Task.Run(RunAsync, CancellationToken.None);
        await consuming.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Stops consuming, lets the message in hand finish and its batch be published and acknowledged. When
    /// <paramref name="cancellationToken"/> fires first, throws; <see cref="Running"/> then names a handler that has not
    /// returned.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        stopping = true;
        var current = Volatile.Read(ref session);
        // A group that keeps checkpoints stays the active consumer until its last checkpoint is confirmed (the deliveries
        // that come meanwhile are left for the next host): cancelling first would let the standby start from an older one.
        // Its consumer ends when the session closes.
        if (checkpoints is null && current is { ConsumeChannel.IsOpen: true, ConsumerTag: { } tag })
        {
            try { await current.ConsumeChannel.BasicCancelAsync(tag, noWait: false, cancellationToken); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug(e, "cancelling the consumer of {Queue}", queue); }
        }
        // A delivery that saw `stopping` set leaves at once, unacknowledged: the broker requeues it when the channel closes.
        while (Volatile.Read(ref handling) != 0)
            await Task.Delay(5, cancellationToken);
        // A handover: what ran here is checkpointed, so that the next host goes on from it with nothing to replay.
        if (checkpoints is not null && Volatile.Read(ref session) is { Lost.IsCancellationRequested: false } live)
        {
            await stateGate.WaitAsync(cancellationToken);
            try
            {
                if (checkpoints.Held > 0 && TryCheckpoint(live.Epoch) is { } last)
                    logger.LogInformation("Group {Group}: stopping: checkpoint {Checkpoint} reflects the {Processed} message(s) of the run processed so far",
                        group.Name, last.CheckpointId, last.CheckpointProcessed);
            }
            finally
            {
                stateGate.Release();
            }
        }
        finished.Writer.TryComplete();
        // Not connected: nothing can be published, and what is not acknowledged is delivered again to another host.
        if (Volatile.Read(ref session) is not { Lost.IsCancellationRequested: false }) await stop.CancelAsync();
        if (run is not null)
        {
            try { await run.WaitAsync(cancellationToken); }
            catch (Exception e) when (e is not OperationCanceledException) { /* reported through fatal already */ }
        }
        logger.LogInformation("Group {Group}: {Processed} message(s) processed, {Failed} failed, {Dead} dead-lettered, {Duplicates} duplicate(s) skipped",
            group.Name, counters.Processed, counters.Failed, counters.DeadLettered, counters.Duplicates);
    }

    /// <summary>One connection's worth of consuming, then the next, until stopped or the broker is lost for good.</summary>
    async Task RunAsync()
    {
        while (!stopping)
        {
            IConnection connection;
            try
            {
                connection = await broker.GetAsync(stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Fail(e);
                return;
            }

            ConsumerSession? current = null;
            try
            {
                current = await OpenSessionAsync(connection);
                var again = pending.Count;
                if (again > 0)
                {
                    // What ran on the last connection: published again before anything is consumed, so that when its
                    // redeliveries come back as duplicates and are acknowledged, their output is already safe.
                    await batches.PublishAsync(current, pending);
                    pending.Clear();
                }
                await ConsumeAsync(current);
                if (consuming.TrySetResult())
                    logger.LogInformation("Group {Group}: consuming {Queue} ({Mode}, {Window}, {Retries} retries); protected by: quorum queue " +
                        "delivery limit {DeliveryLimit} (the broker dead-letters a message that was delivered {Deliveries} times without an " +
                        "acknowledgement, Weaving:DeliveryLimit), bodies over {MaxMessageBytes} bytes dead-lettered unread, at most {Held} MiB " +
                        "held in deliveries, shutdown timeout {ShutdownTimeout} (Weaving:ShutdownTimeout)", group.Name, queue,
                        checkpoints is not null ? $"single active consumer: a second host waits as a standby; checkpoints every {checkpoints.Every} message(s) or {options.CheckpointInterval.TotalMilliseconds} ms in {checkpoints.Queue}"
                        : group.OwnsState ? "single active consumer: a second host waits as a standby; no checkpoints (WEAV029 or Weaving:Checkpoints)" : "competing consumers",
                        window, options.Retries, options.DeliveryLimit, options.DeliveryLimit + 1, options.MaxMessageBytes,
                        (DeliveryWindow.Reserve + window.Prefetch * 2L * options.MaxMessageBytes) >> 20, options.ShutdownTimeout);
                else
                    logger.LogWarning("Group {Group}: consuming {Queue} again; {Again} finished message(s) published again", group.Name, queue, again);
                await PublishLoopAsync(current);
                await current.DisposeAsync();
                return;
            }
            catch (Exception e) when (current is { CancelledByBroker: true } && connection.IsOpen && !stopping)
            {
                logger.LogWarning("Group {Group}: the broker cancelled the consumer of {Queue} (queue deleted?); consuming again", group.Name, queue);
                await CloseSessionAsync(current);
                logger.LogDebug(e, "Group {Group}: consumer cancelled", group.Name);
            }
            catch (Exception e) when (BrokerConnection.IsConnectionLoss(e, connection))
            {
                await CloseSessionAsync(current);
                if (stopping)
                {
                    logger.LogWarning("Group {Group}: lost the broker while stopping; {Pending} finished message(s) left unacknowledged, to be delivered again",
                        group.Name, pending.Count);
                    break;
                }
                logger.LogWarning("Group {Group}: lost the broker ({Error}); {Pending} finished message(s) will be published again after reconnecting",
                    group.Name, e.Message, pending.Count);
                broker.Lost(connection, e.Message);
            }
            catch (Exception e)
            {
                await CloseSessionAsync(current);
                Fail(e);
                return;
            }
        }
        consuming.TrySetCanceled();
    }

    void Fail(Exception e)
    {
        stopping = true;
        consuming.TrySetException(e);
        fatal(e is BrokerLostException ? e : new InvalidOperationException(
            $"group {group.Name}: {e.Message}; {pending.Count} finished message(s) left unacknowledged, to be delivered again", e));
    }

    async Task<ConsumerSession> OpenSessionAsync(IConnection connection)
    {
        var consumeChannel = await connection.CreateChannelAsync();
        try
        {
            // Every queue this group may publish to must exist before it publishes (publishes are mandatory).
            await topology.DeclareAsync(consumeChannel);
            await consumeChannel.BasicQosAsync(0, window.Prefetch, global: false);
            var publisher = await ConfirmedPublisher.OpenAsync(connection, options.PublishWindow);
            var opened = new ConsumerSession(Interlocked.Increment(ref epoch), broker, connection, consumeChannel, publisher);
            consumeChannel.ChannelShutdownAsync += (_, e) => opened.OnShutdown(e);
            publisher.Channel.ChannelShutdownAsync += (_, e) => opened.OnShutdown(e);
            Volatile.Write(ref session, opened);
            return opened;
        }
        catch
        {
            consumeChannel.Dispose();
            throw;
        }
    }

    async Task ConsumeAsync(ConsumerSession current)
    {
        var consumer = new AsyncEventingBasicConsumer(current.ConsumeChannel);
        consumer.ReceivedAsync += (_, delivery) => OnReceivedAsync(current, delivery);
        consumer.UnregisteredAsync += (_, _) =>
        {
            // Also raised when the channel closes; only a cancel on an open channel is the broker's own.
            if (!stopping && current.ConsumeChannel.IsOpen)
            {
                current.CancelledByBroker = true;
                current.MarkLost();
            }
            return Task.CompletedTask;
        };
        current.ConsumerTag = await current.ConsumeChannel.BasicConsumeAsync(queue, autoAck: false, consumer);
    }

    // After a session ended: nothing of it runs any more, and what it finished waits in `pending` for the next one.
    async Task CloseSessionAsync(ConsumerSession? current)
    {
        Interlocked.Increment(ref epoch);
        Volatile.Write(ref session, null);
        while (Volatile.Read(ref handling) != 0) await Task.Delay(5);
        while (finished.Reader.TryRead(out var item)) pending.Add(item);
        if (current is not null) await current.DisposeAsync();
    }

    async Task OnReceivedAsync(ConsumerSession from, BasicDeliverEventArgs delivery)
    {
        if (stopping || from.Epoch != Volatile.Read(ref epoch)) return;
        Interlocked.Increment(ref handling);
        var written = false;
        counters.Took();
        try
        {
            // Checked again after counting ourselves in: a session that ended meanwhile waits for us, or we see it ended.
            if (stopping || from.Epoch != Volatile.Read(ref epoch) || from.Lost.IsCancellationRequested) return;
            if (checkpoints is null && ownerRecords is not null && !from.OwnerChecked)
            {
                from.OwnerChecked = true;
                await ownerRecords.CheckTakeoverAsync(from.Connection, check.ReplyToOf(delivery.BasicProperties), from.Lost.Token);
            }
            try
            {
                await stateGate.WaitAsync(from.Lost.Token);
            }
            catch (OperationCanceledException)
            {
                return; // the session ended: the delivery comes again
            }
            try
            {
                if (checkpoints is not null)
                {
                    try
                    {
                        await PrepareStateAsync(from, delivery);
                    }
                    catch (Exception e) when (from.Lost.IsCancellationRequested || !from.Connection.IsOpen)
                    {
                        logger.LogDebug(e, "Group {Group}: lost the broker while reading the checkpoint", group.Name);
                        return;
                    }
                    catch (Exception e)
                    {
                        stopping = true;
                        fatal(new InvalidOperationException($"group {group.Name}: could not go on from its checkpoint: {e.Message}", e));
                        return;
                    }
                }
                FinishedDelivery done;
                string? output = null;
                if (checkpoints is not null) HeldConsole.Begin();
                try
                {
                    done = Handle(delivery, from.Epoch);
                }
                catch (Exception e)
                {
                    // Not a handler failure (those are caught by the executor): a bug here. Stop rather than lose the message;
                    // nothing after it is handled, so no acknowledgement covers it.
                    stopping = true;
                    fatal(e);
                    return;
                }
                finally
                {
                    if (checkpoints is not null) output = HeldConsole.End();
                }
                if (checkpoints is not null)
                {
                    done.Output = output;
                    done.Generation = checkpoints.Generation;
                }
                // Settled (and counted out of flight) by the batch that publishes it.
                written = finished.Writer.TryWrite(done);
                if (written && checkpoints is not null && done.Settlement == Settlement.Acknowledge)
                {
                    checkpoints.Finished(done.Id, done.Ran, HeldBytes(done), printed: done.Output is not null);
                    if (checkpoints.Due) TryCheckpoint(from.Epoch);
                }
            }
            finally
            {
                stateGate.Release();
            }
        }
        finally
        {
            if (!written) counters.Settled(1);
            Interlocked.Decrement(ref handling);
        }
    }

    // What a delivery holds for the next checkpoint that grows with what it did: its output, and the ids of the messages
    // it sent in its drain report (a report's own few bytes are counted by CheckpointEvery).
    static long HeldBytes(FinishedDelivery done) => (done.Output?.Length ?? 0) + 16L * (done.Posts?.Envelopes.Count ?? 0);

    FinishedDelivery Handle(BasicDeliverEventArgs delivery, int sessionEpoch)
    {
        switch (check.Check(delivery.BasicProperties, delivery.Body.Length))
        {
            case DeliveryVerdict.Duplicate(var id):
                counters.AddDuplicate();
                logger.LogDebug("Group {Group}: message {Id} was handled already; acknowledged without handling it again", group.Name, id);
                return FinishedDelivery.Duplicate(delivery.DeliveryTag, sessionEpoch, id);
            case DeliveryVerdict.Rejected rejected:
                return deadLetters.Reject(delivery, sessionEpoch, rejected);
            case DeliveryVerdict.Accepted(var stage, var id, var replyTo):
                StageMessage message;
                try
                {
                    message = MessageCodec.Deserialize(stage.MessageType, delivery.Body.Span);
                }
                catch (Exception e)
                {
                    return deadLetters.Reject(delivery, sessionEpoch, new DeliveryVerdict.Rejected(RejectionKind.Undecodable, id, replyTo,
                        $"undecodable body for stage {stage.Name}: {e.Message}"));
                }
                check.Ran(id);
                running = new RunningMessage(stage.Name, id);
                try
                {
                    return handlerRun.Run(delivery, sessionEpoch, stage, message, id, replyTo);
                }
                finally
                {
                    running = null;
                }
            case var other:
                throw new InvalidOperationException($"unexpected verdict {other}");
        }
    }

    // Under the state gate: the group's state is in the state a delivery of its run must find (GroupCheckpoints).
    async Task PrepareStateAsync(ConsumerSession from, BasicDeliverEventArgs delivery)
    {
        var run = check.ReplyToOf(delivery.BasicProperties);
        if (!checkpoints!.MustPrepare(!from.OwnerChecked, run)) return;
        // The messages of the run before wait for a checkpoint: it is taken before the state changes run.
        if (checkpoints.SwitchesRun(run)) TryCheckpoint(from.Epoch);
        var owner = ownerRecords is null ? null : await ownerRecords.ReadAsync(from.Connection, from.Lost.Token);
        var prepared = await checkpoints.PrepareAsync(from.Connection, !from.OwnerChecked, run, owner, from.Lost.Token);
        // A state that could not be checkpointed is lost: the host and the source say so, as without checkpoints.
        if (prepared == PreparedState.Lost && ownerRecords is not null)
            await ownerRecords.CheckTakeoverAsync(from.Connection, run, from.Lost.Token);
        if (prepared != PreparedState.Kept)
        {
            ownerRecords?.ContinueFrom(checkpoints.Run, checkpoints.Processed);
            // Which checkpoint's output was printed is the previous host's word until this host prints one.
            if (owner?.Released is { } printed) ownerRecords?.Released(printed);
        }
        if (checkpoints.Unreleased is { } unreleased) await ReleaseAsync(from, unreleased, owner);
        from.OwnerChecked = true;
    }

    // The checkpoint the state now descends from holds output and reports its writer may not have released (it died
    // between the broker's confirm and the release, or this host lost the broker before the confirm reached it): its
    // output is printed unless the owner record says it was, its reports are published (a report applied twice changes
    // nothing), before anything after it runs.
    async Task ReleaseAsync(ConsumerSession from, CheckpointRecord checkpoint, OwnerRecord? owner)
    {
        var printed = owner?.Released == checkpoint.Id;
        if (!printed && checkpoint.Output is { } output)
        {
            logger.LogWarning("Group {Group}: checkpoint {Checkpoint} holds output its writer ({Writer}) had not said it printed: printed now ({Chars} characters)",
                group.Name, checkpoint.Id, checkpoint.Writer, output.Length);
            HeldConsole.Print(output);
        }
        ownerRecords?.Released(checkpoint.Id);
        await using var channel = await from.Connection.CreateChannelAsync(new CreateChannelOptions(true, true), from.Lost.Token);
        if (ownerRecords is not null) await Publish(ownerRecords.Current());
        var properties = WireFormat.ControlProperties(WireFormat.ReportContentType);
        foreach (var report in checkpoint.Reports)
            // Anyone who may publish to the checkpoint queue could write these: only a control queue of this program is told.
            if (QueueNames.IsSourceRun(app, report.ControlQueue))
                await Publish(new Outbound(report.ControlQueue, properties, report.Body, Mandatory: false));
        checkpoints!.MarkReleased(checkpoint);

        ValueTask Publish(Outbound message) =>
            channel.BasicPublishAsync("", message.Queue, message.Mandatory, message.Properties, message.Body, from.Lost.Token);
    }

    // Under the state gate: the state now, after the deliveries written so far, into the stream the publish loop reads.
    FinishedDelivery? TryCheckpoint(int sessionEpoch)
    {
        var marker = checkpoints!.Capture(sessionEpoch);
        if (!finished.Writer.TryWrite(marker)) return null;
        checkpoints.Committed(marker);
        return marker;
    }

    async Task PublishLoopAsync(ConsumerSession current)
    {
        var reader = finished.Reader;
        while (await WaitToReadAsync(reader, current))
        {
            while (pending.Count < window.Prefetch && reader.TryRead(out var item)) pending.Add(item);
            await batches.PublishAsync(current, pending);
            pending.Clear();
        }
    }

    // Printed lines wait for a checkpoint, and a source that drains waits for them: once nothing came for this long, they
    // are checkpointed and printed (a group that goes idle is mostly one whose source waits).
    static readonly TimeSpan IdleRelease = TimeSpan.FromMilliseconds(2);

    // Waits for finished deliveries; for a group that keeps checkpoints, one is taken when messages wait for it and none
    // came for CheckpointInterval (at the end of a run, say: its messages are acknowledged then), or IdleRelease when
    // they printed.
    async Task<bool> WaitToReadAsync(ChannelReader<FinishedDelivery> reader, ConsumerSession current)
    {
        while (true)
        {
            if (checkpoints?.UntilDue is not { } wait) return await reader.WaitToReadAsync(current.Lost.Token);
            if (reader.TryPeek(out _)) return true;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(current.Lost.Token);
            timeout.CancelAfter(checkpoints.HoldsOutput && wait > IdleRelease ? IdleRelease : wait);
            try
            {
                return await reader.WaitToReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!current.Lost.IsCancellationRequested)
            {
                await stateGate.WaitAsync(current.Lost.Token);
                try
                {
                    if ((checkpoints.Due || checkpoints.HoldsOutput) && !stopping) TryCheckpoint(current.Epoch);
                }
                finally
                {
                    stateGate.Release();
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        stopping = true;
        await stop.CancelAsync();
        if (Volatile.Read(ref session) is { } current) await current.DisposeAsync();
        stop.Dispose();
    }
}

/// <summary>A message whose handler is running: its stage and id.</summary>
public sealed record RunningMessage(string Stage, MessageId Id);
