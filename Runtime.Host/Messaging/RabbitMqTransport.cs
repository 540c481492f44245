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
/// </summary>
public sealed class RabbitMqTransport(IConnection connection, IOptions<WeavingOptions> options, ILogger<RabbitMqTransport> logger) : IPipelineTransport
{
    static readonly TimeSpan progressInterval = TimeSpan.FromSeconds(10);

    readonly DrainLedger ledger = new();
    readonly Lock gate = new();
    WovenApp? app;
    ConfirmedPublisher? publisher;
    IChannel? controlChannel;
    string? controlQueue;
    Dictionary<GroupInfo, string> queues = [];
    volatile bool disposing;

    public DrainLedger Ledger => ledger;

    public long FailedMessages => ledger.Failures;

    public void Start(WovenApp wovenApp)
    {
        app = wovenApp;
        queues = wovenApp.Groups.ToDictionary(g => g, g => QueueNames.ForGroup(wovenApp, g));
    }

    public void Send(in Envelope message)
    {
        var current = app ?? throw new InvalidOperationException("the transport was not started.");
        lock (gate)
        {
            EnsureOpen(current);
            var body = MessageCodec.Serialize(message.Message);
            var activity = Activity.Current;
            var properties = WireFormat.StageMessageProperties(message.Stage.Name, message.Id, current.BuildHash, controlQueue,
                activity?.Id, activity?.TraceStateString);
            // Announced before it exists: its completion cannot be reported before this.
            ledger.Announce(message.Id);
            try
            {
                publisher!.PublishAsync(queues[message.Stage.Group], properties, body, mandatory: true).AsTask().GetAwaiter().GetResult();
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
            if (publisher is null) return;
            publisher.WhenAllConfirmedAsync().GetAwaiter().GetResult();
        }
        var waited = Stopwatch.StartNew();
        while (!ledger.WaitUntilFinished(progressInterval))
            logger.LogInformation("Draining: {Unfinished} message(s) not finished after {Seconds:0}s ({Completed} completed); is a host running for every group?",
                ledger.Unfinished, waited.Elapsed.TotalSeconds, ledger.Completed);
    }

    void EnsureOpen(WovenApp current)
    {
        if (publisher is not null) return;
        OpenAsync(current).GetAwaiter().GetResult();
    }

    async Task OpenAsync(WovenApp current)
    {
        var channel = await connection.CreateChannelAsync();
        await QueueTopology.DeclareAsync(channel, current);
        var run = ((ulong)Random.Shared.NextInt64() ^ (ulong)Environment.ProcessId).ToString("x16", CultureInfo.InvariantCulture);
        controlQueue = QueueNames.ForSourceRun(current, run);
        // Exclusive: it goes when this process goes, and reports for a run nobody waits for are dropped.
        await channel.QueueDeclareAsync(controlQueue, durable: false, exclusive: true, autoDelete: true, arguments: null);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += OnReportAsync;
        // One consumer, acknowledged on delivery: reports are applied in the order the queue holds them.
        await channel.BasicConsumeAsync(controlQueue, autoAck: true, consumer);
        // Reports can only come through this channel: if it closes, no drain can ever end, so say so instead of waiting.
        channel.ChannelShutdownAsync += (_, e) =>
        {
            if (!disposing) ledger.Break(new BrokerLostException($"the control channel closed ({e.ReplyCode} {e.ReplyText})"));
            return Task.CompletedTask;
        };
        controlChannel = channel;
        publisher = await ConfirmedPublisher.OpenAsync(connection, options.Value.PublishWindow);
        logger.LogInformation("Source: publishing to {Groups}; hosts report to {ControlQueue}",
            string.Join(", ", queues.Values), controlQueue);
    }

    Task OnReportAsync(object sender, BasicDeliverEventArgs delivery)
    {
        List<Completion> completions;
        try
        {
            completions = DrainReport.Decode(delivery.Body.Span);
        }
        catch (FormatException e)
        {
            logger.LogWarning("Source: ignoring a malformed drain report on {ControlQueue}: {Error}", controlQueue, e.Message);
            return Task.CompletedTask;
        }
        foreach (var completion in completions)
            if (!ledger.Apply(completion))
                logger.LogDebug("Source: message {Id} reported finished again (a redelivery); counted once", completion.Id);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        disposing = true;
        lock (gate)
        {
            publisher?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (controlChannel is not null)
            {
                try { if (controlChannel.IsOpen) controlChannel.CloseAsync().GetAwaiter().GetResult(); }
                catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or OperationCanceledException) { }
                controlChannel.Dispose();
            }
            publisher = null;
            controlChannel = null;
        }
    }
}
