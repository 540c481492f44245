namespace Weaving.Host;

/// <summary>
/// The host's settings, section <c>Weaving</c>: bound from appsettings.json, environment variables (<c>Weaving__Stage</c>)
/// and the command line (<c>--stage</c>), the last winning.
/// </summary>
public sealed class WeavingOptions
{
    public const string Section = "Weaving";
    public const string DefaultBroker = "amqp://guest:guest@localhost:5672/";
    public const string BrokerEnvironmentVariable = "WEAVING_RABBITMQ";

    /// <summary>Path of the woven assembly.</summary>
    public string? App { get; set; }

    /// <summary>Stages or groups to run, comma separated; <c>Main</c> runs the entry point, <c>all</c> every group.</summary>
    public string? Stage { get; set; }

    /// <summary>AMQP URI of the broker; when unset, <c>WEAVING_RABBITMQ</c>, else <see cref="DefaultBroker"/>.</summary>
    public string? RabbitMQ { get; set; }

    /// <summary>Deliveries a group consumer holds unacknowledged: executed, or waiting for their outgoing confirms.</summary>
    public ushort Prefetch { get; set; } = 256;

    /// <summary>Publishes awaiting a broker confirm, per channel, before the next one waits.</summary>
    public int PublishWindow { get; set; } = 1024;

    /// <summary>Message ids each group remembers, so that a message delivered again is not run again.</summary>
    public int DuplicateWindow { get; set; } = 65_536;

    /// <summary>
    /// A stateful group's host checkpoints its state after this many messages (or fewer: at most half its prefetch, since
    /// the messages a checkpoint will reflect stay unacknowledged until it is confirmed).
    /// </summary>
    public int CheckpointEvery { get; set; } = 1000;

    /// <summary>
    /// False: stateful groups keep no checkpoints, as if their state could not be written (WEAV029): faster, but a host
    /// that dies takes the group's state with it. For measuring what checkpoints cost; every host of a group must agree.
    /// </summary>
    public bool Checkpoints { get; set; } = true;

    /// <summary>...and at the latest this long after the first message the last checkpoint does not reflect.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Times a handler that throws is run again, in place, before its message fails and is dead-lettered with the
    /// exception. 0 fails it at once.
    /// </summary>
    public int Retries { get; set; } = 2;

    /// <summary>
    /// Largest message body, in bytes, that a host sends or accepts: a post over it fails (it is not sent), a delivery over
    /// it is dead-lettered. Default 16 MiB.
    /// </summary>
    public int MaxMessageBytes { get; set; } = DefaultMaxMessageBytes;

    public const int DefaultMaxMessageBytes = 16 << 20;

    /// <summary>
    /// Bytes a group consumer may hold in deliveries, whatever its queue holds: it takes at most this divided by twice
    /// <see cref="MaxMessageBytes"/> deliveries at a time, when that is fewer than <see cref="Prefetch"/> (see
    /// <see cref="Consuming.DeliveryWindow"/>). Default 4 GiB: 128 deliveries at the default size limit.
    /// </summary>
    public long MaxHeldBytes { get; set; } = 4L << 30;

    /// <summary>
    /// Times the broker delivers a group's message that was not acknowledged (its host died, or was stopped, holding it)
    /// before it dead-letters it itself: the quorum queue's <c>x-delivery-limit</c>. A queue argument, so the same in every
    /// process of a program. Guards against a message that kills every host that receives it.
    /// </summary>
    public int DeliveryLimit { get; set; } = 20;

    /// <summary>
    /// How long a stopping host (SIGTERM) waits for the message in hand; a handler still running then is abandoned: its
    /// message is not acknowledged (the broker delivers it again), and the host exits with 4.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>
    /// How long a process tries to reconnect after it lost the broker before it gives up (exit code 1). Messages are not
    /// lost either way: what was not acknowledged is delivered again.
    /// </summary>
    public TimeSpan ReconnectTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The AMQP heartbeat asked of the broker. A connection is known dead after about three missed heartbeats: with
    /// RabbitMQ.Client 7.2, that is also how a broker that went away in the middle of a publish is noticed.
    /// </summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a group host logs its progress (messages per second, in flight, failed) while it works; it says nothing
    /// while idle. <c>00:00:00</c> turns it off.
    /// </summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// OTLP endpoint the host exports its metrics and traces to; when unset, <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>; when
    /// neither is set, nothing is exported.
    /// </summary>
    public string? Otlp { get; set; }

    /// <summary>Print the groups (or with <see cref="Json"/> the stage map) and exit.</summary>
    public bool List { get; set; }

    public bool Json { get; set; }

    public string ResolveBroker() =>
        !string.IsNullOrWhiteSpace(RabbitMQ) ? RabbitMQ
        : Environment.GetEnvironmentVariable(BrokerEnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
        : DefaultBroker;
}
