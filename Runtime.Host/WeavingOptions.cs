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

    /// <summary>Print the groups (or with <see cref="Json"/> the stage map) and exit.</summary>
    public bool List { get; set; }

    public bool Json { get; set; }

    public string ResolveBroker() =>
        !string.IsNullOrWhiteSpace(RabbitMQ) ? RabbitMQ
        : Environment.GetEnvironmentVariable(BrokerEnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
        : DefaultBroker;
}
