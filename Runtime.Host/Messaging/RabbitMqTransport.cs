using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Weaving.Execution;
using Weaving.Host.Drain;

namespace Weaving.Host.Messaging;

/// <summary>
/// The pipeline transport of a host process: what <see cref="Pipeline"/> uses for posts made outside any handler, that
/// is by the source (the entry point under <c>--stage Main</c>). Messages go to the group queues; the hosts report every
/// finished message to this run's control queue, and <see cref="DrainLedger"/> turns those reports into an exact
/// <see cref="Drain"/>. Nothing is opened until the first send: a host that only consumes needs no control queue.
/// <para>
/// Losing the broker. The source keeps every publish until it is confirmed; on a new connection it declares its queues
/// again (the control queue is durable, so the reports in it survived), consumes its reports again, and publishes again
/// what was not confirmed, before it goes on. Reports are acknowledged after they are applied, so none is lost with a
/// connection; one applied twice changes nothing.
/// </para>
/// </summary>
public sealed class RabbitMqTransport(BrokerConnection broker, IOptions<WeavingOptions> options, ILogger<RabbitMqTransport> logger)
    : IPipelineTransport, IStateExchange
{
    static readonly TimeSpan progressInterval = TimeSpan.FromSeconds(10);

    readonly DrainLedger ledger = new();
    // The source's sends, its drains and reconnecting, one at a time.
    readonly Lock gate = new();
    readonly List<string> takeovers = [];
    // Cancelled when the host stops: a source waiting for the broker to come back gives up then.
    readonly CancellationTokenSource closing = new();
    WovenApp? app;
    Session? session;
    string? controlQueue;
    Dictionary<GroupInfo, string> queues = [];
    QueueTopology? topology;
    volatile bool disposing;

    public DrainLedger Ledger => ledger;

    public long FailedMessages => ledger.Failures;

    /// <summary>The takeovers of stateful groups that hosts reported during this run, one sentence each.</summary>
    public IReadOnlyList<string> Takeovers
    {
        get { lock (takeovers) return [.. takeovers]; }
    }

    // The control queue goes when its source has not used it for this long: longer than a source keeps reconnecting.
    static readonly TimeSpan ClosingPatience = TimeSpan.FromSeconds(5);

    TimeSpan ControlQueueExpiry => TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(30).Ticks, 2 * options.Value.ReconnectTimeout.Ticks));

    public void Start(WovenApp wovenApp)
    {
        app = wovenApp;
        queues = wovenApp.Groups.ToDictionary(g => g, g => QueueNames.ForGroup(wovenApp, g));
        topology = new QueueTopology(wovenApp, options.Value.DeliveryLimit, broker.VirtualHost);
    }

    public void Send(in Envelope message)
    {
        var current = app ?? throw new InvalidOperationException("the transport was not started.");
        var body = MessageCodec.Serialize(message.Message);
        if (body.Length > options.Value.MaxMessageBytes)
        {
            ledger.FailUnsent();
            logger.LogError("Source: message {Id} to stage {Stage} is {Size} bytes, over the limit of {Limit} bytes (Weaving:MaxMessageBytes); not sent, counted as failed",
                message.Id, message.Stage.Name, body.Length, options.Value.MaxMessageBytes);
            return;
        }
        lock (gate)
        {
            EnsureOpen(current);
            using var publish = HostMetrics.StartPublish(message.Stage.Name);
            // Nobody listens to the host's spans: the program's own activity, if any, is still carried on.
            var activity = publish ?? Activity.Current;
            var properties = WireFormat.StageMessageProperties(message.Stage.Name, message.Id, current.BuildHash, controlQueue,
                activity?.Id, activity?.TraceStateString);
            // Announced before it exists: its completion cannot be reported before this.
            ledger.Announce(message.Id);
            Interlocked.Increment(ref sends);
            try
            {
                Publish(new Outbound(queues[message.Stage.Group], properties, body, Mandatory: true));
            }
            catch
            {
                ledger.Withdraw(message.Id);
                throw;
            }
        }
    }

    public void Drain()
    {
        lock (gate)
        {
            WaitForConfirms();
            if (session is null) return;
        }
        var waited = Stopwatch.StartNew();
        while (!ledger.WaitUntilFinished(progressInterval))
            logger.LogInformation("Draining: {Unfinished} message(s) not finished after {Seconds:0}s ({Completed} completed); is a host running for every group?",
                ledger.Unfinished, waited.Elapsed.TotalSeconds, ledger.Completed);
    }

    // Everything published so far is held by the broker (publishes again what a lost connection had not confirmed).
    void WaitForConfirms()
    {
        while (session is { } current)
        {
            try
            {
                current.Publisher.WhenAllConfirmedAsync().GetAwaiter().GetResult();
                return;
            }
            catch (Exception e) when (!disposing && BrokerConnection.IsConnectionLoss(e, current.Connection))
            {
                Reconnect(current, e.Message);
            }
        }
    }

    // docs/design.md §6: the seed is in the group's queue, confirmed, before the source posts anything that can reach it.
    public void Seed(in Envelope seed)
    {
        Send(seed);
        lock (gate) WaitForConfirms();
        logger.LogDebug("Source: sent what it set up to group {Group} ({Id})", seed.Stage.Group.Name, seed.Id);
    }

    readonly Dictionary<MessageId, TaskCompletionSource<byte[]>> resultRequests = new();
    readonly Dictionary<GroupInfo, (long Sends, StateSnapshot Snapshot)> fetched = new();
    long sends;
    readonly ulong resultsRun = (ulong)Random.Shared.NextInt64();
    long resultRequestCount;

    // docs/design.md §6: once the source's work has drained, the group's host captures the state the source reads and
    // sends it back on the control queue. Nothing sent since the last fetch: the last one still holds.
    public StateSnapshot FetchResults(StageInfo resultsStage)
    {
        var group = resultsStage.Group;
        var sentSoFar = Interlocked.Read(ref sends);
        lock (fetched)
            if (fetched.TryGetValue(group, out var last) && last.Sends == sentSoFar) return last.Snapshot;

        var id = MessageId.Root(resultsRun, (ulong)Interlocked.Increment(ref resultRequestCount));
        var reply = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (resultRequests) resultRequests[id] = reply;
        var request = (StateSnapshot)Activator.CreateInstance(resultsStage.MessageType)!;
        Send(new Envelope(resultsStage, request, id));
        var waited = Stopwatch.StartNew();
        while (!reply.Task.Wait(progressInterval))
            logger.LogInformation("Source: waiting {Seconds:0}s for the state of group {Group}; is a host running for it?",
                waited.Elapsed.TotalSeconds, group.Name);
        lock (resultRequests) resultRequests.Remove(id);
        var snapshot = (StateSnapshot)MessageCodec.Deserialize(resultsStage.MessageType, reply.Task.Result);
        lock (fetched) fetched[group] = (Interlocked.Read(ref sends), snapshot);
        return snapshot;
    }

    void OnResults(IReadOnlyBasicProperties properties, ReadOnlySpan<byte> body)
    {
        if (!MessageId.TryParse(WireFormat.ReadString(properties, WireFormat.IdHeader), out var id)) return;
        TaskCompletionSource<byte[]>? reply;
        lock (resultRequests) resultRequests.TryGetValue(id, out reply);
        reply?.TrySetResult(body.ToArray());
    }

    void Publish(Outbound message)
    {
        while (true)
        {
            var current = session!;
            try
            {
                current.Publisher.PublishAsync(message).AsTask().GetAwaiter().GetResult();
                return;
            }
            catch (Exception e) when (!disposing && BrokerConnection.IsConnectionLoss(e, current.Connection))
            {
                Reconnect(current, e.Message);
            }
        }
    }

    void EnsureOpen(WovenApp current)
    {
        if (session is not null) return;
        var run = ((ulong)Random.Shared.NextInt64() ^ (ulong)Environment.ProcessId).ToString("x16", CultureInfo.InvariantCulture);
        controlQueue = QueueNames.ForSourceRun(current, run);
        while (session is null)
        {
            var connection = broker.GetAsync(closing.Token).GetAwaiter().GetResult();
            try
            {
                session = OpenAsync(connection, current).GetAwaiter().GetResult();
            }
            catch (Exception e) when (BrokerConnection.IsConnectionLoss(e, connection))
            {
                broker.Lost(connection, e.Message);
            }
        }
        logger.LogInformation("Source: publishing to {Groups}; hosts report to {ControlQueue}", string.Join(", ", queues.Values), controlQueue);
    }

    /// <summary>
    /// With <see cref="gate"/> held: replaces a session whose connection was lost, and publishes again what it had not
    /// seen confirmed. Throws <see cref="BrokerLostException"/> when the broker stays away (and breaks the ledger with it).
    /// </summary>
    void Reconnect(Session lost, string reason)
    {
        if (session != lost) return;
        var unconfirmed = lost.Publisher.Unconfirmed();
        logger.LogWarning("Source: lost the broker ({Reason}); after reconnecting, {Count} unconfirmed message(s) will be published again",
            reason, unconfirmed.Count);
        session = null;
        broker.Lost(lost.Connection, reason);
        lost.DisposeAsync().AsTask().GetAwaiter().GetResult();
        while (session is null)
        {
            IConnection connection;
            try
            {
                connection = broker.GetAsync(closing.Token).GetAwaiter().GetResult();
            }
            catch (BrokerLostException e)
            {
                ledger.Break(e);
                throw;
            }
            Session? fresh = null;
            try
            {
                fresh = OpenAsync(connection, app!).GetAwaiter().GetResult();
                foreach (var message in unconfirmed)
                    fresh.Publisher.PublishAsync(message).AsTask().GetAwaiter().GetResult();
                fresh.Publisher.WhenAllConfirmedAsync().GetAwaiter().GetResult();
                session = fresh;
            }
            catch (Exception e) when (BrokerConnection.IsConnectionLoss(e, connection))
            {
                broker.Lost(connection, e.Message);
                fresh?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        logger.LogWarning("Source: reconnected; {Count} message(s) published again; reports go on arriving on {ControlQueue}", unconfirmed.Count, controlQueue);
    }

    async Task<Session> OpenAsync(IConnection connection, WovenApp current)
    {
        var channel = await connection.CreateChannelAsync();
        try
        {
            await topology!.DeclareAsync(channel);
            await topology.DeclareControlQueueAsync(channel, controlQueue!, ControlQueueExpiry);
            var publisher = await ConfirmedPublisher.OpenAsync(connection, options.Value.PublishWindow);
            var opened = new Session(broker, connection, channel, publisher);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) => OnControlMessageAsync(opened, delivery);
            // One consumer: reports are applied in the order the queue holds them, and acknowledged once applied.
            await channel.BasicConsumeAsync(controlQueue!, autoAck: false, consumer);
            // Reports only come through this channel: when the broker goes away while the source waits for them (no
            // publish of its own to notice it), reconnect from here.
            channel.ChannelShutdownAsync += (_, e) =>
            {
                if (!disposing && e.Initiator != ShutdownInitiator.Application)
                    _ = Task.Run(() => ReconnectInBackground(opened, e.ReplyText));
                return Task.CompletedTask;
            };
            opened.Lost += reason =>
            {
                if (!disposing) ReconnectInBackground(opened, reason);
            };
            return opened;
        }
        catch
        {
            channel.Dispose();
            throw;
        }
    }

    void ReconnectInBackground(Session lost, string reason)
    {
        try
        {
            lock (gate)
                if (!disposing) Reconnect(lost, reason);
        }
        catch (BrokerLostException) { /* the ledger is broken: the drain reports it */ }
        catch (Exception e)
        {
            ledger.Break(new BrokerLostException($"reconnecting failed: {e.Message}", e));
        }
    }

    async Task OnControlMessageAsync(Session from, BasicDeliverEventArgs delivery)
    {
        if (delivery.BasicProperties.ContentType == WireFormat.TakeoverContentType)
            OnTakeover(delivery.BasicProperties);
        else if (delivery.BasicProperties.ContentType == WireFormat.ResultsContentType)
            OnResults(delivery.BasicProperties, delivery.Body.Span);
        else
            OnReport(delivery.Body.Span);
        try
        {
            await from.ControlChannel.BasicAckAsync(delivery.DeliveryTag, multiple: false, from.Aborted);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException
                                       or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Delivered again after reconnecting, and applied again: which changes nothing.
        }
    }

    void OnReport(ReadOnlySpan<byte> body)
    {
        List<Completion> completions;
        try
        {
            completions = DrainReport.Decode(body);
        }
        catch (FormatException e)
        {
            logger.LogWarning("Source: ignoring a malformed drain report on {ControlQueue}: {Error}", controlQueue, e.Message);
            return;
        }
        foreach (var completion in completions)
            if (!ledger.Apply(completion))
                logger.LogDebug("Source: message {Id} reported finished before its parent, or again (a redelivery); counted once", completion.Id);
    }

    void OnTakeover(IReadOnlyBasicProperties properties)
    {
        var group = WireFormat.ReadString(properties, WireFormat.GroupHeader) ?? "(unknown)";
        var host = WireFormat.ReadString(properties, WireFormat.HostHeader) ?? "another host";
        var previous = WireFormat.ReadString(properties, WireFormat.PreviousHostHeader) ?? "its previous host";
        var processed = WireFormat.ReadLong(properties, WireFormat.ProcessedHeader) ?? 0;
        lock (takeovers)
            takeovers.Add($"group {group} was taken over by {host} after {previous} had processed {processed} message(s) of this run");
        logger.LogWarning("Source: TAKEOVER in group {Group}: {Host} became its active host after {Previous} had processed {Processed} " +
            "message(s) of this run. The state they built is lost, so this run's output is not what an uninterrupted run prints",
            group, host, previous, processed);
    }

    public void Dispose()
    {
        disposing = true;
        closing.Cancel();
        lock (gate)
        {
            if (session is not { } current) return;
            session = null;
            // The run is over: nobody will read its reports (a source that dies leaves the queue to expire). The control
            // channel is closed first, its consumer with it, and the queue deleted from a channel of its own: deleting it
            // from the channel that consumes it, while reports still arrive, could hold up the client's reading of the
            // connection until its heartbeat ran out (about 20 s, then "End of stream"), whatever the token said.
            var closed = Task.Run(async () =>
            {
                await current.DisposeAsync();
                if (!current.Connection.IsOpen) return;
                using var timeout = new CancellationTokenSource(ClosingPatience);
                await using var channel = await current.Connection.CreateChannelAsync(cancellationToken: timeout.Token);
                await channel.QueueDeleteAsync(controlQueue!, ifUnused: false, ifEmpty: false, cancellationToken: timeout.Token);
                await channel.CloseAsync(timeout.Token);
            });
            try
            {
                // Bounded here, not only by the token: the process must not wait on a client that does not answer.
                if (!closed.Wait(ClosingPatience + TimeSpan.FromSeconds(1)))
                    logger.LogWarning("Source: closing the control channel and deleting {ControlQueue} took longer than {Seconds} s; left to expire on its own",
                        controlQueue, (ClosingPatience + TimeSpan.FromSeconds(1)).TotalSeconds);
            }
            catch (AggregateException e) when (e.InnerException is RabbitMQ.Client.Exceptions.AlreadyClosedException
                                                   or RabbitMQ.Client.Exceptions.OperationInterruptedException
                                                   or IOException or OperationCanceledException or TimeoutException or ObjectDisposedException)
            {
                logger.LogDebug("Source: could not delete {ControlQueue}: {Error}", controlQueue, e.InnerException.Message);
            }
        }
    }

    /// <summary>One connection's channels: the control queue's consumer, and the publisher.</summary>
    sealed class Session(BrokerConnection broker, IConnection connection, IChannel controlChannel, ConfirmedPublisher publisher)
        : BrokerSession(broker, connection, controlChannel, publisher)
    {
        readonly CancellationTokenSource aborted = new();

        public IChannel ControlChannel { get; } = controlChannel;
        /// <summary>Cancelled once the connection is known to be dead.</summary>
        public CancellationToken Aborted => aborted.Token;
        /// <summary>Raised (on a thread of the pool) when the connection is found dead.</summary>
        public event Action<string>? Lost;

        protected override void ConnectionLost(IConnection lost)
        {
            try { aborted.Cancel(); }
            catch (ObjectDisposedException) { }
            Lost?.Invoke(lost.CloseReason?.ReplyText ?? "connection lost");
        }
    }
}
