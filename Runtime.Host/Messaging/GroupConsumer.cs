using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Weaving.Execution;
using Weaving.Host.Drain;

namespace Weaving.Host.Messaging;

/// <summary>
/// Consumes one stage group's queue. Each delivery is checked, run through the group's <see cref="GroupExecutor"/> (which
/// runs same-group posts in place, and retries a handler that throws), and handed to a publish loop, so that the next
/// delivery runs while the last one's output is in flight. The publish loop takes whatever has finished as one batch and,
/// in this order:
/// <list type="number">
/// <item>publishes the messages the batch sent to other groups, and its dead letters, and waits for the confirms;</item>
/// <item>publishes the batch's completions to the sources' control queues (and, for a group that owns state, the owner
/// record) and waits for the confirms: a completion only ever announces messages that exist (see <see cref="DrainLedger"/>);</item>
/// <item>acknowledges the batch (multiple, up to its last delivery tag): at-least-once.</item>
/// </list>
/// <para>
/// Losing the broker. The deliveries of a dead channel cannot be acknowledged, and the broker gives them out again. What
/// ran here is not run again: the finished batches are kept, published again on the next connection (before consuming
/// starts again), and their redeliveries are recognised by id and acknowledged without running. Between two connections
/// nothing runs: a delivery that arrives on a dead channel is left for its redelivery.
/// </para>
/// </summary>
public sealed class GroupConsumer : IAsyncDisposable
{
    // A report bigger than this is split: a fan-out of 100,000 makes one completion of 1.6 MB, which stays whole.
    const int ReportChunkBytes = 1 << 20;

    readonly WovenApp app;
    readonly GroupInfo group;
    readonly BrokerConnection broker;
    readonly WeavingOptions options;
    readonly HostMetrics metrics;
    readonly ILogger logger;
    readonly Action<Exception> fatal;
    readonly GroupExecutor executor;
    readonly RecentIds recent;
    readonly string queue;
    readonly string deadQueue;
    readonly string? ownerQueue;
    readonly HostInstance self = HostInstance.Current;
    readonly Channel<Finished> finished = Channel.CreateUnbounded<Finished>(new UnboundedChannelOptions { SingleReader = true });
    // Finished deliveries taken from `finished` whose output is not known to be confirmed (the run loop's only).
    readonly List<Finished> pending = [];
    // Handle's scratch lists: deliveries are handled one at a time.
    readonly List<Envelope> outgoing = [];
    readonly List<HandlerFailure> failures = [];
    readonly TaskCompletionSource consuming = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly CancellationTokenSource stop = new();

    Session? session;
    Task? run;
    volatile bool stopping;
    int handling;
    int epoch;
    long processedCount, failedCount, deadCount, duplicateCount, takeoverCount;
    // The owner record: the run (control queue) of the last message processed here, and how many of that run ran here.
    string? lastRun;
    long processedInLastRun;

    public GroupConsumer(WovenApp app, GroupInfo group, BrokerConnection broker, WeavingOptions options, HostMetrics metrics,
        ILogger logger, Action<Exception> fatal)
    {
        this.app = app;
        this.group = group;
        this.broker = broker;
        this.options = options;
        this.metrics = metrics;
        this.logger = logger;
        this.fatal = fatal;
        executor = new GroupExecutor(group)
        {
            Retries = Math.Max(0, options.Retries),
            Retrying = (message, e, attempt) => logger.LogWarning("Stage {Stage} message {Id} threw {Type}: {Error}; running it again ({Attempt} of {Retries})",
                message.Stage.Name, message.Id, e.GetType().FullName, e.Message, attempt, options.Retries),
        };
        recent = new RecentIds(options.DuplicateWindow);
        queue = QueueNames.ForGroup(app, group);
        deadQueue = QueueNames.DeadLetters(queue);
        ownerQueue = group.OwnsState ? QueueNames.Owner(queue) : null;
    }

    public GroupInfo Group => group;
    public long Processed => Interlocked.Read(ref processedCount);

    /// <summary>Starts consuming; returns once the first consumer is registered with the broker.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        run = Task.Run(RunAsync, CancellationToken.None);
        await consuming.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Stops consuming, lets the message in hand finish and its batch be published and acknowledged.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        stopping = true;
        var current = Volatile.Read(ref session);
        if (current is { ConsumeChannel.IsOpen: true, ConsumerTag: { } tag })
        {
            try { await current.ConsumeChannel.BasicCancelAsync(tag, noWait: false, cancellationToken); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug(e, "cancelling the consumer of {Queue}", queue); }
        }
        // A delivery that saw `stopping` set leaves at once, unacknowledged: the broker requeues it when the channel closes.
        while (Volatile.Read(ref handling) != 0)
            await Task.Delay(5, cancellationToken);
        finished.Writer.TryComplete();
        // Not connected: nothing can be published, and what is not acknowledged is delivered again to another host.
        if (Volatile.Read(ref session) is not { Lost.IsCancellationRequested: false }) await stop.CancelAsync();
        if (run is not null)
        {
            try { await run.WaitAsync(cancellationToken); }
            catch (Exception e) when (e is not OperationCanceledException) { /* reported through fatal already */ }
        }
        logger.LogInformation("Group {Group}: {Processed} message(s) processed, {Failed} failed, {Dead} dead-lettered, {Duplicates} duplicate(s) skipped",
            group.Name, Processed, Interlocked.Read(ref failedCount), Interlocked.Read(ref deadCount), Interlocked.Read(ref duplicateCount));
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

            Session? current = null;
            try
            {
                current = await OpenSessionAsync(connection);
                var again = pending.Count;
                if (again > 0)
                {
                    // What ran on the last connection: published again before anything is consumed, so that when its
                    // redeliveries come back as duplicates and are acknowledged, their output is already safe.
                    await PublishBatchAsync(current, pending);
                    pending.Clear();
                }
                await ConsumeAsync(current);
                if (consuming.TrySetResult())
                    logger.LogInformation("Group {Group}: consuming {Queue} ({Mode}, prefetch {Prefetch}, {Retries} retries)", group.Name, queue,
                        group.OwnsState ? "single active consumer: a second host waits as a standby" : "competing consumers",
                        options.Prefetch, options.Retries);
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

    async Task<Session> OpenSessionAsync(IConnection connection)
    {
        var consumeChannel = await connection.CreateChannelAsync();
        try
        {
            // Every queue this group may publish to must exist before it publishes (publishes are mandatory).
            await QueueTopology.DeclareAsync(consumeChannel, app);
            await consumeChannel.BasicQosAsync(0, options.Prefetch, global: false);
            var publisher = await ConfirmedPublisher.OpenAsync(connection, options.PublishWindow);
            var opened = new Session(Interlocked.Increment(ref epoch), broker, connection, consumeChannel, publisher);
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

    async Task ConsumeAsync(Session current)
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
    async Task CloseSessionAsync(Session? current)
    {
        Interlocked.Increment(ref epoch);
        Volatile.Write(ref session, null);
        while (Volatile.Read(ref handling) != 0) await Task.Delay(5);
        while (finished.Reader.TryRead(out var item)) pending.Add(item);
        if (current is not null) await current.DisposeAsync();
    }

    async Task OnReceivedAsync(Session from, BasicDeliverEventArgs delivery)
    {
        if (stopping || from.Epoch != Volatile.Read(ref epoch)) return;
        Interlocked.Increment(ref handling);
        try
        {
            // Checked again after counting ourselves in: a session that ended meanwhile waits for us, or we see it ended.
            if (stopping || from.Epoch != Volatile.Read(ref epoch) || from.Lost.IsCancellationRequested) return;
            if (ownerQueue is not null && !from.OwnerChecked)
            {
                from.OwnerChecked = true;
                await CheckTakeoverAsync(from, delivery);
            }
            Finished done;
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
            finished.Writer.TryWrite(done);
        }
        finally
        {
            Interlocked.Decrement(ref handling);
        }
    }

    Finished Handle(BasicDeliverEventArgs delivery, int sessionEpoch)
    {
        var properties = delivery.BasicProperties;
        var idText = WireFormat.ReadString(properties, WireFormat.IdHeader);
        var stageName = WireFormat.ReadString(properties, WireFormat.StageHeader);
        var build = WireFormat.ReadString(properties, WireFormat.BuildHeader);
        var replyTo = WireFormat.ReadString(properties, WireFormat.ReplyToHeader);
        var hasId = MessageId.TryParse(idText, out var id);
        MessageId? knownId = hasId ? id : null;

        if (hasId && recent.Contains(id))
        {
            Interlocked.Increment(ref duplicateCount);
            metrics.Duplicate(group.Name);
            logger.LogDebug("Group {Group}: message {Id} was handled already; acknowledged without handling it again", group.Name, id);
            return new Finished(delivery.DeliveryTag, sessionEpoch, null, null, [], Ran: false);
        }
        if (delivery.Body.Length > options.MaxMessageBytes)
            return DeadLetter(delivery, sessionEpoch, knownId, replyTo,
                $"message of {delivery.Body.Length} bytes, over the limit of {options.MaxMessageBytes} bytes (Weaving:MaxMessageBytes)");
        if (!hasId || stageName is null || build is null)
            return DeadLetter(delivery, sessionEpoch, knownId, null, "missing or malformed weaving-id, weaving-stage or weaving-build header: not a message of a woven program");
        if (build != app.BuildHash)
            return DeadLetter(delivery, sessionEpoch, id, replyTo, $"message of build {build}, but this host runs build {app.BuildHash} of {app.Name}");
        // The type to read the body as comes from a stage of this group, never from the wire.
        var stage = app.FindStage(stageName);
        if (stage is null || stage.Group != group)
            return DeadLetter(delivery, sessionEpoch, id, replyTo, stage is null
                ? $"{app.Name} has no stage {stageName}"
                : $"stage {stageName} belongs to group {stage.Group.Name}, not {group.Name}");

        StageMessage message;
        try
        {
            message = MessageCodec.Deserialize(stage.MessageType, delivery.Body.Span);
        }
        catch (Exception e)
        {
            return DeadLetter(delivery, sessionEpoch, id, replyTo, $"undecodable body for stage {stage.Name}: {e.Message}");
        }
        recent.Add(id);

        var traceParent = WireFormat.ReadString(properties, WireFormat.TraceParentHeader);
        var traceState = WireFormat.ReadString(properties, WireFormat.TraceStateHeader);
        ActivityContext.TryParse(traceParent, traceState, out var parent);
        using var activity = HostMetrics.Activities.StartActivity(stage.Name + " process", ActivityKind.Consumer, parent);
        activity?.SetTag("weaving.message_id", idText);
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
            byte[] body;
            try
            {
                body = MessageCodec.Serialize(next.Message);
            }
            catch (Exception e)
            {
                failed++;
                logger.LogError(e, "Stage {Stage} message {Id}: its post to {Target} ({Child}) cannot be serialized; not sent",
                    stage.Name, id, next.Stage.Name, next.Id);
                continue;
            }
            if (body.Length > options.MaxMessageBytes)
            {
                failed++;
                logger.LogError("Stage {Stage} message {Id}: its post to {Target} ({Child}) is {Size} bytes, over the limit of {Limit} bytes (Weaving:MaxMessageBytes); not sent",
                    stage.Name, id, next.Stage.Name, next.Id, body.Length, options.MaxMessageBytes);
                continue;
            }
            var props = WireFormat.StageMessageProperties(next.Stage.Name, next.Id, app.BuildHash, replyTo, traceParent, traceState);
            toPublish.Add(new Outbound(QueueNames.ForGroup(app, next.Stage.Group), props, body, Mandatory: true));
            sent.Add(next.Id);
        }
        // A results request captured the group's state into its message: the source that asked reads it from there.
        if (stage.Kind == StageKind.Results && failures.Count == 0 && replyTo is not null)
            toPublish.Add(new Outbound(replyTo, WireFormat.ControlProperties(WireFormat.ResultsContentType,
                new() { [WireFormat.IdHeader] = id.ToString() }), MessageCodec.Serialize(message), Mandatory: true));
        foreach (var failure in failures)
        {
            var e = failure.Exception;
            logger.LogError(e, "Stage {Stage} failed message {Id} after {Attempts} attempt(s): {Error}; dead-lettered to {DeadQueue}",
                failure.Message.Stage.Name, failure.Message.Id, failure.Attempts, e.Message, deadQueue);
            byte[] body;
            try { body = MessageCodec.Serialize(failure.Message.Message); }
            catch (Exception) { body = failure.Message.Id == id ? delivery.Body.ToArray() : []; }
            var props = WireFormat.StageMessageProperties(failure.Message.Stage.Name, failure.Message.Id, app.BuildHash, replyTo,
                traceParent, traceState);
            var reason = $"handler threw {e.GetType().FullName}: {e.Message} ({failure.Attempts} attempt(s))";
            toPublish.Add(new Outbound(deadQueue, WireFormat.DeadLetterProperties(props, reason, group.Name, e, failure.Attempts), body, Mandatory: true));
        }
        if (failed > 0)
        {
            Interlocked.Add(ref failedCount, failed);
            metrics.Failed(group.Name, failed);
            Interlocked.Add(ref deadCount, failures.Count);
            metrics.DeadLettered(group.Name, failures.Count);
        }
        activity?.SetTag("weaving.sent", sent.Count);
        if (failed > 0) activity?.SetStatus(ActivityStatusCode.Error);
        return new Finished(delivery.DeliveryTag, sessionEpoch, replyTo, new Completion(id, failed, [.. sent]), toPublish, Ran: true);
    }

    /// <summary>
    /// Moves a delivery to the dead-letter queue with the reason in a header. When it names its source run, the source
    /// is told it finished, as a failure: it must not wait for it forever, and must exit non-zero.
    /// </summary>
    Finished DeadLetter(BasicDeliverEventArgs delivery, int sessionEpoch, MessageId? id, string? replyTo, string reason)
    {
        var idText = id?.ToString() ?? delivery.BasicProperties.MessageId ?? $"(none; delivery {delivery.DeliveryTag})";
        logger.LogWarning("Group {Group}: message {Id} dead-lettered to {DeadQueue}: {Reason}", group.Name, idText, deadQueue, reason);
        Interlocked.Increment(ref deadCount);
        metrics.DeadLettered(group.Name);
        // Its redelivery (after a reconnect) is acknowledged as a duplicate rather than dead-lettered twice.
        if (id is { } known) recent.Add(known);
        var props = WireFormat.DeadLetterProperties(delivery.BasicProperties, reason, group.Name);
        var dead = new Outbound(deadQueue, props, delivery.Body.ToArray(), Mandatory: true);
        var completion = id is { } reported && replyTo is not null ? new Completion(reported, 1, []) : (Completion?)null;
        if (completion is not null)
        {
            Interlocked.Increment(ref failedCount);
            metrics.Failed(group.Name);
        }
        return new Finished(delivery.DeliveryTag, sessionEpoch, replyTo, completion, [dead], Ran: false);
    }

    /// <summary>
    /// A group that owns state keeps its state in the process of its active host. When this host starts receiving (first
    /// delivery of a connection), it reads the owner record the active host keeps up to date: if another host processed
    /// messages of the same run before, their effect on the state is lost, and this host and the source say so.
    /// </summary>
    async Task CheckTakeoverAsync(Session from, BasicDeliverEventArgs delivery)
    {
        var run = WireFormat.ReadString(delivery.BasicProperties, WireFormat.ReplyToHeader);
        try
        {
            var lost = from.Lost.Token;
            await using var channel = await from.Connection.CreateChannelAsync(new CreateChannelOptions(true, true), lost);
            var record = await channel.BasicGetAsync(ownerQueue!, autoAck: false, lost);
            if (record is null) return;
            await channel.BasicNackAsync(record.DeliveryTag, multiple: false, requeue: true, lost);
            var previous = WireFormat.ReadString(record.BasicProperties, WireFormat.HostHeader) ?? "another host";
            var previousId = WireFormat.ReadString(record.BasicProperties, WireFormat.HostIdHeader);
            var previousRun = WireFormat.ReadString(record.BasicProperties, WireFormat.RunHeader);
            var processed = WireFormat.ReadLong(record.BasicProperties, WireFormat.ProcessedHeader) ?? 0;
            if (previousId == self.Id || previousRun != run || processed <= 0) return;

            Interlocked.Increment(ref takeoverCount);
            logger.LogWarning("Group {Group}: TAKEOVER: this host ({Self}) became the active consumer after {Previous}, which had processed " +
                "{Processed} message(s) of this run. The state those messages built lived in that host and is lost (state " +
                "checkpoints are not implemented): this host goes on from empty state, so the run's output will differ " +
                "from an uninterrupted run", group.Name, self, previous, processed);
            if (run is null) return;
            // Told to the source before this host reports anything, so that it knows before its drain can end.
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

    async Task PublishLoopAsync(Session current)
    {
        var reader = finished.Reader;
        while (await reader.WaitToReadAsync(current.Lost.Token))
        {
            while (pending.Count < options.Prefetch && reader.TryRead(out var item)) pending.Add(item);
            await PublishBatchAsync(current, pending);
            pending.Clear();
        }
    }

    async Task PublishBatchAsync(Session current, List<Finished> batch)
    {
        foreach (var item in batch)
            foreach (var message in item.Messages)
                await current.Publisher.PublishAsync(message);
        await current.Publisher.WhenAllConfirmedAsync();

        await PublishReportsAsync(current, batch);
        if (ownerQueue is not null) await PublishOwnerRecordAsync(current, batch);
        await current.Publisher.WhenAllConfirmedAsync();

        // Deliveries of an earlier connection are not acknowledged: their tags died with it; they come back as duplicates.
        ulong? lastTag = null;
        foreach (var item in batch)
            if (item.Epoch == current.Epoch) lastTag = item.DeliveryTag;
        if (lastTag is { } tag) await current.ConsumeChannel.BasicAckAsync(tag, multiple: true, current.Lost.Token);
        var ran = batch.Count(f => f.Ran);
        Interlocked.Add(ref processedCount, ran);
        metrics.Processed(group.Name, ran);
    }

    async Task PublishReportsAsync(Session current, List<Finished> batch)
    {
        var byRun = new Dictionary<string, List<Completion>>();
        foreach (var item in batch)
        {
            if (item.ReplyTo is null || item.Completion is not { } completion) continue;
            if (!byRun.TryGetValue(item.ReplyTo, out var completions)) byRun[item.ReplyTo] = completions = [];
            completions.Add(completion);
        }
        var properties = WireFormat.ControlProperties(WireFormat.ReportContentType);
        foreach (var (controlQueue, completions) in byRun)
        {
            var chunk = new List<Completion>();
            var size = 0;
            foreach (var completion in completions)
            {
                var next = DrainReport.SizeOf(completion);
                if (chunk.Count > 0 && size + next > ReportChunkBytes)
                {
                    // Not mandatory: a source that has gone away leaves no queue, and nobody to tell.
                    await current.Publisher.PublishAsync(new Outbound(controlQueue, properties, DrainReport.Encode(chunk), Mandatory: false));
                    chunk = [];
                    size = 0;
                }
                chunk.Add(completion);
                size += next;
            }
            await current.Publisher.PublishAsync(new Outbound(controlQueue, properties, DrainReport.Encode(chunk), Mandatory: false));
        }
    }

    ValueTask PublishOwnerRecordAsync(Session current, List<Finished> batch)
    {
        var any = false;
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
        if (!any) return ValueTask.CompletedTask;
        var headers = new Dictionary<string, object?>
        {
            [WireFormat.HostIdHeader] = self.Id,
            [WireFormat.HostHeader] = self.Description,
            [WireFormat.GroupHeader] = group.Name,
            [WireFormat.ProcessedHeader] = processedInLastRun,
        };
        if (lastRun is not null) headers[WireFormat.RunHeader] = lastRun;
        return current.Publisher.PublishAsync(new Outbound(ownerQueue!, WireFormat.ControlProperties("application/vnd.weaving.owner", headers),
            ReadOnlyMemory<byte>.Empty, Mandatory: false));
    }

    public async ValueTask DisposeAsync()
    {
        stopping = true;
        await stop.CancelAsync();
        if (Volatile.Read(ref session) is { } current) await current.DisposeAsync();
        stop.Dispose();
    }

    /// <summary>A delivery that is done here: what to publish, what to report, then the tag to acknowledge.</summary>
    sealed record Finished(ulong DeliveryTag, int Epoch, string? ReplyTo, Completion? Completion, List<Outbound> Messages, bool Ran);

    /// <summary>One connection's channels: the consumer's, and the publisher's.</summary>
    sealed class Session(int epoch, BrokerConnection broker, IConnection connection, IChannel consumeChannel, ConfirmedPublisher publisher)
        : BrokerSession(broker, connection, consumeChannel, publisher)
    {
        public int Epoch { get; } = epoch;
        public IChannel ConsumeChannel { get; } = consumeChannel;
        /// <summary>Cancelled when a channel of the session closed without this process asking.</summary>
        public CancellationTokenSource Lost { get; } = new();
        public string? ConsumerTag { get; set; }
        public bool OwnerChecked { get; set; }
        public bool CancelledByBroker { get; set; }

        public Task OnShutdown(ShutdownEventArgs e)
        {
            if (e.Initiator != ShutdownInitiator.Application) MarkLost();
            return Task.CompletedTask;
        }

        protected override void ConnectionLost(IConnection lost) => MarkLost();

        // On another thread: cancelling runs the waiting publish loop's continuation, which must not run inside the
        // client's event handler.
        public void MarkLost() => _ = Task.Run(() =>
        {
            try { Lost.Cancel(); }
            catch (ObjectDisposedException) { }
        });
    }
}
