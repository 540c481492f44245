using System.Buffers.Binary;
using System.Diagnostics;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// The floor for the distributed runtime: Pipeline3's three stages written by hand on RabbitMQ.Client, with the
/// guarantees the host gives: durable queues, persistent messages, publisher confirms, manual acknowledgements, and a
/// delivery acknowledged only once what it caused is confirmed (at-least-once). Each stage has its own connection, as a
/// host process would. What the host adds on top (message ids, build checks, duplicate detection, JSON bodies, drain
/// reports to the source) is exactly what the comparison prices.
/// </summary>
public sealed class RawRabbitMqPipeline : IAsyncDisposable
{
    const string Prefix = "weaving-benchmark.raw.";
    const ushort Prefetch = 256;
    const int PublishWindow = 1024;
    static readonly string[] queues = [Prefix + "Parse", Prefix + "Enrich", Prefix + "Aggregate"];

    readonly List<IConnection> connections = [];
    readonly List<IChannel> channels = [];
    readonly int work;
    IChannel? source;
    TaskCompletionSource<ulong>? done;
    int expected;
    int aggregated;
    ulong checksum;

    readonly bool wovenShaped;
    readonly string brokerUri;

    RawRabbitMqPipeline(int work, bool wovenShaped, string brokerUri)
    {
        this.work = work;
        this.wovenShaped = wovenShaped;
        this.brokerUri = brokerUri;
    }

    /// <param name="quorum">Quorum queues with a delivery limit, as the host declares its group queues, instead of durable
    /// classic ones: what part of the distance to the woven deployment is the queue type (<c>--probe broker</c>).</param>
    /// <param name="wovenShaped">Messages the size and shape of the woven deployment's: its basic properties (content type,
    /// a 32-digit message id, the stage as type, the build as app id, the run's control queue as reply-to) and a body as
    /// long as its JSON: what part of the broker's cost per message is the message's size.</param>
    public static async Task<RawRabbitMqPipeline> StartAsync(string brokerUri, int work, bool quorum = false, bool wovenShaped = false)
    {
        var pipeline = new RawRabbitMqPipeline(work, wovenShaped, brokerUri);
        var factory = new ConnectionFactory { Uri = new Uri(brokerUri), AutomaticRecoveryEnabled = false };
        var setup = await pipeline.ConnectAsync(factory, "setup");
        var admin = await setup.CreateChannelAsync();
        foreach (var queue in queues)
        {
            await admin.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
            await admin.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
                arguments: quorum ? new Dictionary<string, object?> { ["x-queue-type"] = "quorum", ["x-delivery-limit"] = 20 } : null);
        }
        await admin.CloseAsync();

        await pipeline.StartForwardingStageAsync(await pipeline.ConnectAsync(factory, "Parse"), queues[0], queues[1]);
        await pipeline.StartForwardingStageAsync(await pipeline.ConnectAsync(factory, "Enrich"), queues[1], queues[2]);
        await pipeline.StartAggregateAsync(await pipeline.ConnectAsync(factory, "Aggregate"), queues[2]);
        pipeline.source = await pipeline.OpenConfirmingChannelAsync(await pipeline.ConnectAsync(factory, "source"));
        return pipeline;
    }

    /// <summary>Publishes <paramref name="events"/> events to the first stage, and waits for the last stage to fold them
    /// all; returns the checksum of this run.</summary>
    public async Task<ulong> RunAsync(int events)
    {
        BeginRun(events);
        await PublishEventsAsync(source!, events);
        return await done!.Task.WaitAsync(TimeSpan.FromMinutes(2));
    }

    void BeginRun(int events)
    {
        checksum = 0;
        aggregated = 0;
        expected = events;
        done = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    // The source's part: every event to the first stage, at most PublishWindow of them awaiting their confirms.
    async Task PublishEventsAsync(IChannel channel, int events)
    {
        var inFlight = new Queue<Task>();
        for (var i = 0; i < events; i++)
        {
            while (inFlight.Count >= PublishWindow) await inFlight.Dequeue();
            var confirmed = channel.BasicPublishAsync("", queues[0], mandatory: true, Properties("Parse"), Encode(i, (ulong)i));
            if (!confirmed.IsCompletedSuccessfully) inFlight.Enqueue(confirmed.AsTask());
        }
        while (inFlight.Count > 0) await inFlight.Dequeue();
    }

    /// <summary>
    /// A run whose source is a process of its own, started for the run (this executable, <c>--raw-source</c>), as the woven
    /// deployment's source is: it connects, publishes <paramref name="events"/> events with confirms, and exits; the run
    /// ends when the last stage folded them all. Returns the wall time in seconds, from the source's start.
    /// </summary>
    public double RunFreshSource(int events, out ulong runChecksum)
    {
        BeginRun(events);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { typeof(RawRabbitMqPipeline).Assembly.Location, "--raw-source", brokerUri, events.ToString() })
            info.ArgumentList.Add(argument);
        var start = Stopwatch.GetTimestamp();
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the raw source did not exit within 10 minutes.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"the raw source exited with {process.ExitCode}: {error.GetAwaiter().GetResult()}");
        runChecksum = events == 0 ? 0 : done!.Task.WaitAsync(TimeSpan.FromMinutes(2)).GetAwaiter().GetResult();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary><c>--raw-source</c>: the source of <see cref="RunFreshSource"/>, publishing as <see cref="RunAsync"/> does.</summary>
    public static async Task<int> PublishAsSourceAsync(string brokerUri, int events)
    {
        var factory = new ConnectionFactory { Uri = new Uri(brokerUri), AutomaticRecoveryEnabled = false };
        var pipeline = new RawRabbitMqPipeline(0, wovenShaped: false, brokerUri);
        await pipeline.PublishEventsAsync(await pipeline.OpenConfirmingChannelAsync(await pipeline.ConnectAsync(factory, "fresh source")), events);
        await pipeline.DisposeAsync();
        return 0;
    }

    // A stage that fails ends the run with its error, rather than leaving it to time out.
    void Fail(string stage, Exception e) =>
        done?.TrySetException(new InvalidOperationException($"raw pipeline, stage {stage}: {e.GetType().Name}: {e.Message}", e));

    async Task<IConnection> ConnectAsync(ConnectionFactory factory, string name)
    {
        var connection = await factory.CreateConnectionAsync("weaving-benchmark raw " + name);
        connections.Add(connection);
        return connection;
    }

    async Task<IChannel> OpenConfirmingChannelAsync(IConnection connection)
    {
        var channel = await connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true, outstandingPublisherConfirmationsRateLimiter: null));
        channels.Add(channel);
        return channel;
    }

    // Parse and Enrich: work on the value, publish it on, and acknowledge once the publish is confirmed. A loop takes the
    // confirms in order, a batch at a time, and acknowledges the batch with one multiple ack.
    async Task StartForwardingStageAsync(IConnection connection, string input, string output)
    {
        var consume = await connection.CreateChannelAsync();
        channels.Add(consume);
        await consume.BasicQosAsync(0, Prefetch, global: false);
        var publish = await OpenConfirmingChannelAsync(connection);
        var pending = Channel.CreateUnbounded<(Task Confirmed, ulong Tag)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var stage = output[Prefix.Length..];

        var consumer = new AsyncEventingBasicConsumer(consume);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            try
            {
                var (id, value) = Decode(delivery.Body.Span);
                var confirmed = publish.BasicPublishAsync("", output, mandatory: true, Properties(stage), Encode(id, StageWork.Run(value, work)));
                pending.Writer.TryWrite((confirmed.AsTask(), delivery.DeliveryTag));
            }
            catch (Exception e)
            {
                Fail(input, e);
            }
            return Task.CompletedTask;
        };
        _ = Task.Run(async () =>
        {
            try
            {
                var reader = pending.Reader;
                while (await reader.WaitToReadAsync())
                {
                    ulong last = 0;
                    // Bounded, so that acknowledgements keep up with the prefetch window.
                    for (var n = 0; n < Prefetch / 4 && reader.TryRead(out var item); n++)
                    {
                        await item.Confirmed;
                        last = item.Tag;
                    }
                    await consume.BasicAckAsync(last, multiple: true);
                }
            }
            catch (Exception e)
            {
                Fail(input, e);
            }
        });
        await consume.BasicConsumeAsync(input, autoAck: false, consumer);
    }

    async Task StartAggregateAsync(IConnection connection, string input)
    {
        var consume = await connection.CreateChannelAsync();
        channels.Add(consume);
        await consume.BasicQosAsync(0, Prefetch, global: false);
        var consumer = new AsyncEventingBasicConsumer(consume);
        var unacknowledged = 0;
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            try
            {
                var (id, value) = Decode(delivery.Body.Span);
                checksum = StageWork.Fold(checksum, id, value, work);
                var finished = ++aggregated == expected;
                if (++unacknowledged >= Prefetch / 4 || finished)
                {
                    await consume.BasicAckAsync(delivery.DeliveryTag, multiple: true);
                    unacknowledged = 0;
                }
                if (finished) done?.TrySetResult(checksum);
            }
            catch (Exception e)
            {
                Fail(input, e);
            }
        };
        await consume.BasicConsumeAsync(input, autoAck: false, consumer);
    }

    static readonly BasicProperties plain = new() { Persistent = true };

    BasicProperties Properties(string stage) => wovenShaped
        ? new BasicProperties
        {
            Persistent = true,
            ContentType = "application/json",
            MessageId = Guid.NewGuid().ToString("N"),
            Type = stage,
            AppId = "0308b07bb7fade147871158e",
            ReplyTo = "weaving.Pipeline3.source.03d6e3fd4acd47d0",
        }
        : plain;

    byte[] Encode(long id, ulong value)
    {
        // The woven JSON of Pipeline3's messages is about 45 bytes ({"id":…,"value":…,"work":…}).
        var body = new byte[wovenShaped ? 45 : 16];
        BinaryPrimitives.WriteInt64LittleEndian(body, id);
        BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(8), value);
        return body;
    }

    static (long Id, ulong Value) Decode(ReadOnlySpan<byte> body) =>
        (BinaryPrimitives.ReadInt64LittleEndian(body), BinaryPrimitives.ReadUInt64LittleEndian(body[8..]));

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in channels)
        {
            try { await channel.CloseAsync(); } catch (Exception) { /* the broker may be gone already */ }
            channel.Dispose();
        }
        foreach (var connection in connections)
        {
            try { await connection.CloseAsync(); } catch (Exception) { }
            connection.Dispose();
        }
    }
}
