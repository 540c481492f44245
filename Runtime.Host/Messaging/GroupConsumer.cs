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
/// runs same-group posts in place), and handed to a publish loop, so the next delivery runs while the last one's output
/// is in flight. The publish loop takes whatever has finished as one batch and, in this order:
/// <list type="number">
/// <item>publishes the batch's completions to the sources' control queues and waits for the confirms (the drain ledger
/// relies on a parent's completion being enqueued before any of its children exist; see <see cref="DrainLedger"/>);</item>
/// <item>publishes the messages the batch sent to other groups, and its dead letters, and waits for the confirms;</item>
/// <item>acknowledges the batch (multiple, up to its last delivery tag): at-least-once.</item>
/// </list>
/// </summary>
public sealed class GroupConsumer : IAsyncDisposable
{
    // A report bigger than this is split: a fan-out of 100,000 makes one completion of 1.6 MB, which stays whole.
    const int ReportChunkBytes = 1 << 20;

    readonly WovenApp app;
    readonly GroupInfo group;
    readonly IConnection connection;
    readonly WeavingOptions options;
    readonly HostMetrics metrics;
    readonly ILogger logger;
    readonly Action<Exception> fatal;
    readonly GroupExecutor executor;
    readonly RecentIds recent;
    readonly string queue;
    readonly string deadQueue;
    readonly Channel<Finished> finished = Channel.CreateUnbounded<Finished>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    readonly List<Envelope> outgoing = [];
    readonly List<HandlerFailure> failures = [];

    IChannel? consumeChannel;
    ConfirmedPublisher? publisher;
    string? consumerTag;
    Task? publishLoop;
    volatile bool stopping;
    int handling;
    long processedCount, failedCount, deadCount, duplicateCount;

    public GroupConsumer(WovenApp app, GroupInfo group, IConnection connection, WeavingOptions options, HostMetrics metrics,
        ILogger logger, Action<Exception> fatal)
    {
        this.app = app;
        this.group = group;
        this.connection = connection;
        this.options = options;
        this.metrics = metrics;
        this.logger = logger;
        this.fatal = fatal;
        executor = new GroupExecutor(group);
        recent = new RecentIds(options.DuplicateWindow);
        queue = QueueNames.ForGroup(app, group);
        deadQueue = QueueNames.DeadLetters(queue);
    }

    public GroupInfo Group => group;
    public long Processed => Interlocked.Read(ref processedCount);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        consumeChannel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        // Every queue this group may publish to must exist before it publishes (publishes are mandatory).
        await QueueTopology.DeclareAsync(consumeChannel, app, cancellationToken);
        await consumeChannel.BasicQosAsync(0, options.Prefetch, global: false, cancellationToken);
        publisher = await ConfirmedPublisher.OpenAsync(connection, options.PublishWindow, cancellationToken);
        publishLoop = Task.Run(PublishLoopAsync, CancellationToken.None);

        var consumer = new AsyncEventingBasicConsumer(consumeChannel);
        consumer.ReceivedAsync += OnReceivedAsync;
        consumer.ShutdownAsync += (_, e) =>
        {
            if (!stopping) fatal(new InvalidOperationException($"the channel consuming {queue} closed: {e.ReplyText}"));
            return Task.CompletedTask;
        };
        consumer.UnregisteredAsync += (_, _) =>
        {
            if (!stopping) fatal(new InvalidOperationException($"the broker cancelled the consumer of {queue} (queue deleted?)"));
            return Task.CompletedTask;
        };
        consumerTag = await consumeChannel.BasicConsumeAsync(queue, autoAck: false, consumer, cancellationToken);
        logger.LogInformation("Group {Group}: consuming {Queue} ({Mode}, prefetch {Prefetch})", group.Name, queue,
            group.OwnsState ? "single active consumer: a second host waits as a standby" : "competing consumers", options.Prefetch);
    }

    /// <summary>Stops consuming, lets the message in hand finish and its batch be published and acknowledged.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        stopping = true;
        if (consumeChannel is { IsOpen: true } && consumerTag is not null)
        {
            try { await consumeChannel.BasicCancelAsync(consumerTag, noWait: false, cancellationToken); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug(e, "cancelling the consumer of {Queue}", queue); }
        }
        // A delivery that saw `stopping` set leaves at once, unacknowledged: the broker requeues it when the channel closes.
        while (Volatile.Read(ref handling) != 0)
            await Task.Delay(5, cancellationToken);
        finished.Writer.TryComplete();
        if (publishLoop is not null)
        {
            try { await publishLoop.WaitAsync(cancellationToken); }
            catch (Exception e) when (e is not OperationCanceledException) { /* reported through fatal already */ }
        }
        logger.LogInformation("Group {Group}: {Processed} message(s) processed, {Failed} failed, {Dead} dead-lettered, {Duplicates} duplicate(s) skipped",
            group.Name, Processed, Interlocked.Read(ref failedCount), Interlocked.Read(ref deadCount), Interlocked.Read(ref duplicateCount));
    }

    Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        if (stopping) return Task.CompletedTask;
        Interlocked.Increment(ref handling);
        try
        {
            if (stopping) return Task.CompletedTask;
            Finished done;
            try
            {
                done = Handle(delivery);
            }
            catch (Exception e)
            {
                // Not a handler failure (those are caught by the executor): a bug here. Stop rather than lose the message.
                fatal(e);
                return Task.CompletedTask;
            }
            finished.Writer.TryWrite(done);
        }
        finally
        {
            Interlocked.Decrement(ref handling);
        }
        return Task.CompletedTask;
    }

    Finished Handle(BasicDeliverEventArgs delivery)
    {
        var properties = delivery.BasicProperties;
        var idText = WireFormat.ReadString(properties, WireFormat.IdHeader);
        var stageName = WireFormat.ReadString(properties, WireFormat.StageHeader);
        var build = WireFormat.ReadString(properties, WireFormat.BuildHeader);
        var replyTo = WireFormat.ReadString(properties, WireFormat.ReplyToHeader);
        var hasId = MessageId.TryParse(idText, out var id);

        if (!hasId || stageName is null || build is null)
            return DeadLetter(delivery, null, null, "missing or malformed weaving-id, weaving-stage or weaving-build header: not a message of a woven program");
        if (build != app.BuildHash)
            return DeadLetter(delivery, id, replyTo, $"message of build {build}, but this host runs build {app.BuildHash} of {app.Name}");
        var stage = app.FindStage(stageName);
        if (stage is null || stage.Group != group)
            return DeadLetter(delivery, id, replyTo, stage is null
                ? $"{app.Name} has no stage {stageName}"
                : $"stage {stageName} belongs to group {stage.Group.Name}, not {group.Name}");

        if (recent.Contains(id))
        {
            Interlocked.Increment(ref duplicateCount);
            metrics.Duplicate(group.Name);
            logger.LogDebug("Group {Group}: message {Id} ran already; acknowledged without running again", group.Name, id);
            return new Finished(delivery.DeliveryTag, null, null, [], Ran: false);
        }

        StageMessage message;
        try
        {
            message = MessageCodec.Deserialize(stage.MessageType, delivery.Body.Span);
        }
        catch (Exception e)
        {
            return DeadLetter(delivery, id, replyTo, $"undecodable body for stage {stage.Name}: {e.Message}");
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
            var props = WireFormat.StageMessageProperties(next.Stage.Name, next.Id, app.BuildHash, replyTo, traceParent, traceState);
            toPublish.Add(new Outbound(QueueNames.ForGroup(app, next.Stage.Group), props, body, Mandatory: true));
            sent.Add(next.Id);
        }
        foreach (var failure in failures)
        {
            logger.LogError(failure.Exception, "Stage {Stage} failed message {Id}: {Error}", failure.Message.Stage.Name,
                failure.Message.Id, failure.Exception.Message);
            byte[] body;
            try { body = MessageCodec.Serialize(failure.Message.Message); }
            catch (Exception) { body = failure.Message.Id == id ? delivery.Body.ToArray() : []; }
            var props = WireFormat.StageMessageProperties(failure.Message.Stage.Name, failure.Message.Id, app.BuildHash, replyTo,
                traceParent, traceState);
            toPublish.Add(DeadLetterOf(props, body, $"handler threw {failure.Exception.GetType().FullName}: {failure.Exception.Message}"));
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
        return new Finished(delivery.DeliveryTag, replyTo, new Completion(id, failed, [.. sent]), toPublish, Ran: true);
    }

    /// <summary>
    /// Moves a delivery to the dead-letter queue with the reason in a header. When it names its source run, the source
    /// is told it finished, as a failure: it must not wait for it forever, and must exit non-zero.
    /// </summary>
    Finished DeadLetter(BasicDeliverEventArgs delivery, MessageId? id, string? replyTo, string reason)
    {
        var idText = id?.ToString() ?? delivery.BasicProperties.MessageId ?? $"(none; delivery {delivery.DeliveryTag})";
        logger.LogWarning("Group {Group}: message {Id} dead-lettered to {DeadQueue}: {Reason}", group.Name, idText, deadQueue, reason);
        Interlocked.Increment(ref deadCount);
        metrics.DeadLettered(group.Name);
        var props = WireFormat.DeadLetterProperties(delivery.BasicProperties, reason, group.Name);
        var dead = new Outbound(deadQueue, props, delivery.Body.ToArray(), Mandatory: true);
        var completion = id is { } known && replyTo is not null ? new Completion(known, 1, []) : (Completion?)null;
        if (completion is not null)
        {
            Interlocked.Increment(ref failedCount);
            metrics.Failed(group.Name);
        }
        return new Finished(delivery.DeliveryTag, replyTo, completion, [dead], Ran: false);
    }

    Outbound DeadLetterOf(BasicProperties stageProperties, byte[] body, string reason) =>
        new(deadQueue, WireFormat.DeadLetterProperties(stageProperties, reason, group.Name), body, Mandatory: true);

    async Task PublishLoopAsync()
    {
        var reader = finished.Reader;
        var batch = new List<Finished>();
        try
        {
            while (await reader.WaitToReadAsync())
            {
                while (batch.Count < options.Prefetch && reader.TryRead(out var item)) batch.Add(item);
                await PublishReportsAsync(batch);
                foreach (var item in batch)
                    foreach (var message in item.Messages)
                        await publisher!.PublishAsync(message.Queue, message.Properties, message.Body, message.Mandatory);
                await publisher!.WhenAllConfirmedAsync();
                await consumeChannel!.BasicAckAsync(batch[^1].DeliveryTag, multiple: true);
                var ran = batch.Count(f => f.Ran);
                Interlocked.Add(ref processedCount, ran);
                metrics.Processed(group.Name, ran);
                batch.Clear();
            }
        }
        catch (Exception e)
        {
            fatal(new InvalidOperationException($"group {group.Name}: publishing or acknowledging failed, {batch.Count} message(s) left unacknowledged for redelivery: {e.Message}", e));
            throw;
        }
    }

    async Task PublishReportsAsync(List<Finished> batch)
    {
        var byRun = new Dictionary<string, List<Completion>>();
        foreach (var item in batch)
        {
            if (item.ReplyTo is null || item.Completion is not { } completion) continue;
            if (!byRun.TryGetValue(item.ReplyTo, out var completions)) byRun[item.ReplyTo] = completions = [];
            completions.Add(completion);
        }
        if (byRun.Count == 0) return;
        var properties = new BasicProperties { ContentType = WireFormat.ReportContentType };
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
                    await publisher!.PublishAsync(controlQueue, properties, DrainReport.Encode(chunk), mandatory: false);
                    chunk = [];
                    size = 0;
                }
                chunk.Add(completion);
                size += next;
            }
            await publisher!.PublishAsync(controlQueue, properties, DrainReport.Encode(chunk), mandatory: false);
        }
        await publisher!.WhenAllConfirmedAsync();
    }

    public async ValueTask DisposeAsync()
    {
        stopping = true;
        if (publisher is not null) await publisher.DisposeAsync();
        if (consumeChannel is not null)
        {
            try { if (consumeChannel.IsOpen) await consumeChannel.CloseAsync(); }
            catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or OperationCanceledException) { }
            consumeChannel.Dispose();
        }
    }

    /// <summary>A delivery that is done here: what to report, what to publish, then the tag to acknowledge.</summary>
    sealed record Finished(ulong DeliveryTag, string? ReplyTo, Completion? Completion, List<Outbound> Messages, bool Ran);

    readonly record struct Outbound(string Queue, BasicProperties Properties, ReadOnlyMemory<byte> Body, bool Mandatory);
}
