using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
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
/// Sending. <see cref="Send"/> announces the message and puts it in a bounded outbox; one loop (<c>SendLoopAsync</c>)
/// publishes what the outbox holds, in the order it was put there. The program's thread waits only when the outbox is
/// full (the broker is slower than the program), and <see cref="Drain"/> waits for a flush: everything before it
/// published and confirmed. No lock is held across an asynchronous call: the session is the loop's, and a reconnect
/// takes it over through <c>sessionGate</c>. (It costs what publishing from the program's thread did: RabbitMQ.Client
/// writes one send per publish either way.)
/// </para>
/// <para>
/// Losing the broker. The source keeps every publish until it is confirmed; on a new connection it declares its queues
/// again (the control queue is durable, so the reports in it survived), consumes its reports again, and publishes again
/// what was not confirmed, before it goes on. Reports are acknowledged after they are applied, so none is lost with a
/// connection; one applied twice changes nothing. When the broker stays away longer than <c>ReconnectTimeout</c>, the
/// ledger is broken: the drain and every later send throw.
/// </para>
/// </summary>
public sealed class RabbitMqTransport(BrokerConnection broker, IOptions<WeavingOptions> options, ILogger<RabbitMqTransport> logger)
    : IPipelineTransport, IStateExchange, IAsyncDisposable
{
    static readonly TimeSpan progressInterval = TimeSpan.FromSeconds(10);

    readonly DrainLedger ledger = new();
    // The session: opened, used for a burst of publishes, replaced after a lost connection, closed; one at a time.
    readonly SemaphoreSlim sessionGate = new(1, 1);
    // What Send and Flush hand to the send loop, in order. Bounded: a program faster than the broker waits for room.
    readonly Channel<Outgoing> outbox = Channel.CreateBounded<Outgoing>(
        new BoundedChannelOptions(Math.Max(1, options.Value.PublishWindow)) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    readonly Lock starting = new();
    Task? sender;
    // Why the send loop stopped, when it failed: thrown by every later send and flush.
    volatile Exception? failure;
    readonly List<string> takeovers = [];
    // Cancelled when the host stops: a source waiting for the broker to come back gives up then.
    readonly CancellationTokenSource closing = new();
    WovenApp? app;
    Session? session;
    string? controlQueue;
    Dictionary<GroupInfo, string> queues = [];
    QueueTopology? topology;
    volatile bool disposing;
    int disposed;

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
        StartSending(current);
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
            Enqueue(new Outgoing(new Outbound(queues[message.Stage.Group], properties, body, Mandatory: true), null));
        }
        catch
        {
            ledger.Withdraw(message.Id);
            throw;
        }
    }

    public void Drain()
    {
        if (!Flush()) return;
        var waited = Stopwatch.StartNew();
        while (!ledger.WaitUntilFinished(progressInterval))
            logger.LogInformation("Draining: {Unfinished} message(s) not finished after {Seconds:0}s ({Completed} completed); is a host running for every group?",
                ledger.Unfinished, waited.Elapsed.TotalSeconds, ledger.Completed);
    }

    // The first send names the run's control queue and starts the loop that publishes; the connection is the loop's to open.
    void StartSending(WovenApp current)
    {
        if (Volatile.Read(ref sender) is not null) return;
        lock (starting)
        {
            if (sender is not null) return;
            var run = ((ulong)Random.Shared.NextInt64() ^ (ulong)Environment.ProcessId).ToString("x16", CultureInfo.InvariantCulture);
            controlQueue = QueueNames.ForSourceRun(current, run);
            Volatile.Write(ref sender, Task.Run(() => SendLoopAsync(current)));
        }
    }

    // Hands an item to the send loop, waiting for room while the outbox is full; throws what stopped the loop.
    void Enqueue(Outgoing item)
    {
        if (failure is { } failed) ExceptionDispatchInfo.Throw(failed);
        if (outbox.Writer.TryWrite(item)) return;
        try
        {
            // The program's thread (the source is synchronous code) waits for the broker here, holding nothing.
            outbox.Writer.WriteAsync(item, closing.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException) when (failure is { } stopped)
        {
            ExceptionDispatchInfo.Throw(stopped);
        }
    }

    /// <summary>
    /// Waits until everything sent so far is published and confirmed (published again after a lost connection); false
    /// when nothing was ever sent. Throws what stopped the send loop.
    /// </summary>
    bool Flush()
    {
        if (Volatile.Read(ref sender) is null) return false;
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new Outgoing(null, flushed));
        flushed.Task.GetAwaiter().GetResult();
        return true;
    }

    /// <summary>A message to publish, or (<paramref name="Flushed"/>) a flush: completed once everything before it is confirmed.</summary>
    readonly record struct Outgoing(Outbound? Message, TaskCompletionSource? Flushed);

    async Task SendLoopAsync(WovenApp current)
    {
        var reader = outbox.Reader;
        // The flush being confirmed, if any: taken from the outbox, so it is completed here whatever happens.
        TaskCompletionSource? flushing = null;
        try
        {
            while (await reader.WaitToReadAsync(closing.Token))
            {
                // One burst: whatever the outbox holds, and whatever comes while it is published.
                await sessionGate.WaitAsync(closing.Token);
                try
                {
                    while (reader.TryRead(out var item))
                    {
                        if (item.Message is { } message)
                            await PublishAsync(current, message);
                        else
                        {
                            flushing = item.Flushed;
                            await ConfirmAllAsync(current);
                            flushing!.TrySetResult();
                            flushing = null;
                        }
                    }
                }
                finally
                {
                    sessionGate.Release();
                }
            }
        }
        catch (OperationCanceledException) when (disposing) { }
        catch (Exception e)
        {
            failure = e;
            if (e is BrokerLostException) ledger.Break(e);
            else ledger.Break(new BrokerLostException($"publishing failed: {e.Message}", e));
            outbox.Writer.TryComplete(e);
            if (!disposing) logger.LogError("Source: publishing stopped: {Error}", WireFormat.OneLine(e.Message));
        }
        // Flushes nobody will complete now: their waiters learn why.
        outbox.Writer.TryComplete();
        flushing?.TrySetException(failure ?? new ObjectDisposedException(nameof(RabbitMqTransport)));
        while (reader.TryRead(out var left))
            left.Flushed?.TrySetException(failure ?? new ObjectDisposedException(nameof(RabbitMqTransport)));
    }

    // With sessionGate held: publishes on the session, opening it first, and again on a new one after a lost connection.
    Task PublishAsync(WovenApp current, Outbound message) =>
        OnSessionAsync(current, message, static (publisher, m) => publisher.PublishAsync(m).AsTask());

    // With sessionGate held: everything published so far is held by the broker (published again after a lost connection).
    Task ConfirmAllAsync(WovenApp current) =>
        OnSessionAsync(current, (Outbound?)null, static (publisher, _) => publisher.WhenAllConfirmedAsync());

    // With sessionGate held: `act` on the session's publisher, opening the session first, and on a new one after a lost
    // connection (which publishes again what the lost one had not seen confirmed). Static lambdas: nothing allocated a publish.
    async Task OnSessionAsync<TState>(WovenApp current, TState state, Func<ConfirmedPublisher, TState, Task> act)
    {
        while (true)
        {
            var open = session ?? await OpenSessionAsync(current);
            try
            {
                await act(open.Publisher, state);
                return;
            }
            catch (Exception e) when (!disposing && BrokerConnection.IsConnectionLoss(e, open.Connection))
            {
                await ReconnectAsync(open, e.Message);
            }
        }
    }

    // docs/design.md §6: the seed is in the group's queue, confirmed, before the source posts anything that can reach it.
    public void Seed(in Envelope seed)
    {
        Send(seed);
        Flush();
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
        Flush();
        var waited = Stopwatch.StartNew();
        while (!((IAsyncResult)reply.Task).AsyncWaitHandle.WaitOne(progressInterval))
            logger.LogInformation("Source: waiting {Seconds:0}s for the state of group {Group}; is a host running for it?",
                waited.Elapsed.TotalSeconds, group.Name);
        lock (resultRequests) resultRequests.Remove(id);
        // The host could not send it back (it says why): the source cannot read what the program reads.
        if (reply.Task.Exception?.InnerException is { } failed) ExceptionDispatchInfo.Throw(failed);
        var snapshot = (StateSnapshot)MessageCodec.Deserialize(resultsStage.MessageType, reply.Task.Result);
        lock (fetched) fetched[group] = (Interlocked.Read(ref sends), snapshot);
        return snapshot;
    }

    void OnResults(IReadOnlyBasicProperties properties, ReadOnlySpan<byte> body)
    {
        if (!MessageId.TryParse(WireFormat.ReadString(properties, WireFormat.IdHeader), out var id)) return;
        TaskCompletionSource<byte[]>? reply;
        lock (resultRequests) resultRequests.TryGetValue(id, out reply);
        if (WireFormat.ReadString(properties, WireFormat.ExceptionMessageHeader) is { } failed)
            reply?.TrySetException(new InvalidOperationException(failed));
        else
            reply?.TrySetResult(body.ToArray());
    }

    // With sessionGate held: the run's first session.
    async Task<Session> OpenSessionAsync(WovenApp current)
    {
        while (true)
        {
            var connection = await broker.GetAsync(closing.Token);
            try
            {
                session = await OpenAsync(connection, current);
                logger.LogInformation("Source: publishing to {Groups}; hosts report to {ControlQueue}", string.Join(", ", queues.Values), controlQueue);
                return session;
            }
            catch (Exception e) when (BrokerConnection.IsConnectionLoss(e, connection))
            {
                broker.Lost(connection, e.Message);
            }
        }
    }

    /// <summary>
    /// With <see cref="sessionGate"/> held: replaces a session whose connection was lost, and publishes again what it had
    /// not seen confirmed. Throws <see cref="BrokerLostException"/> when the broker stays away (and breaks the ledger with it).
    /// </summary>
    async Task ReconnectAsync(Session lost, string reason)
    {
        if (session != lost) return;
        var unconfirmed = lost.Publisher.Unconfirmed();
        logger.LogWarning("Source: lost the broker ({Reason}); after reconnecting, {Count} unconfirmed message(s) will be published again",
            reason, unconfirmed.Count);
        session = null;
        broker.Lost(lost.Connection, reason);
        await lost.DisposeAsync();
        Session? fresh = null;
        while (fresh is null)
        {
            IConnection connection;
            try
            {
                connection = await broker.GetAsync(closing.Token);
            }
            catch (BrokerLostException e)
            {
                ledger.Break(e);
                throw;
            }
            try
            {
                fresh = await OpenAsync(connection, app!);
                foreach (var message in unconfirmed)
                    await fresh.Publisher.PublishAsync(message);
                await fresh.Publisher.WhenAllConfirmedAsync();
            }
            catch (Exception e) when (BrokerConnection.IsConnectionLoss(e, connection))
            {
                broker.Lost(connection, e.Message);
                if (fresh is not null) await fresh.DisposeAsync();
                fresh = null;
            }
        }
        session = fresh;
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
                    _ = Task.Run(() => ReconnectInBackgroundAsync(opened, e.ReplyText));
                return Task.CompletedTask;
            };
            opened.Lost += reason =>
            {
                if (!disposing) _ = ReconnectInBackgroundAsync(opened, reason);
            };
            return opened;
        }
        catch
        {
            channel.Dispose();
            throw;
        }
    }

    // The connection died while the send loop had nothing to publish (the source waits for reports): reconnect from here.
    async Task ReconnectInBackgroundAsync(Session lost, string reason)
    {
        try
        {
            await sessionGate.WaitAsync(closing.Token);
            try
            {
                if (!disposing) await ReconnectAsync(lost, reason);
            }
            finally
            {
                sessionGate.Release();
            }
        }
        catch (BrokerLostException) { /* the ledger is broken: the drain reports it */ }
        catch (OperationCanceledException) when (disposing) { }
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

    /// <summary>As <see cref="DisposeAsync"/>, for callers that cannot wait asynchronously.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Ends the run's session: deletes the control queue and closes the source's channels, bounded in time. Asynchronous
    /// all the way: the generic host disposes its services (this one first among those of the broker) at the end of its
    /// own stop, in a continuation that can run on RabbitMQ.Client's thread that reads the connection; the blocking
    /// <see cref="Dispose"/> the container called there held up every reply on the connection, the channel close it
    /// waited for included, until its wait gave up: `--stage Main,all` took 6 s more to exit in most runs.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        disposing = true;
        closing.Cancel();
        outbox.Writer.TryComplete();
        // The send loop stops at its next wait; the session is then nobody else's.
        if (Volatile.Read(ref sender) is { } loop)
            await loop.WaitAsync(ClosingPatience).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!await sessionGate.WaitAsync(ClosingPatience))
        {
            logger.LogWarning("Source: the send loop did not stop within {Seconds} s; {ControlQueue} is left to expire on its own",
                ClosingPatience.TotalSeconds, controlQueue);
            return;
        }
        try
        {
            if (session is not { } current) return;
            session = null;
            // The run is over: nobody will read its reports (a source that dies leaves the queue to expire). The queue is
            // deleted from a channel of its own: deleting it from the channel that consumes it, while reports still arrive,
            // could hold up the client's reading of the connection until its heartbeat ran out (about 20 s, then "End of
            // stream"), whatever the token said. Then the session's channels close.
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
                await closed.WaitAsync(ClosingPatience + TimeSpan.FromSeconds(1));
            }
            catch (TimeoutException)
            {
                logger.LogWarning("Source: closing the control channel and deleting {ControlQueue} took longer than {Seconds} s; left to expire on its own",
                    controlQueue, (ClosingPatience + TimeSpan.FromSeconds(1)).TotalSeconds);
            }
            catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException
                                          or RabbitMQ.Client.Exceptions.OperationInterruptedException
                                          or IOException or OperationCanceledException or ObjectDisposedException)
            {
                logger.LogDebug("Source: could not delete {ControlQueue}: {Error}", controlQueue, e.Message);
            }
        }
        finally
        {
            sessionGate.Release();
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
