using RabbitMQ.Client;

namespace Weaving.Host.Messaging;

/// <summary>
/// One connection's working set: a channel that consumes (a group's queue, or the source's control queue) and the
/// confirmed publisher. It hears when its connection is lost, aborts the publisher, and closes both on disposal.
/// </summary>
abstract class BrokerSession : IAsyncDisposable
{
    readonly BrokerConnection broker;
    readonly IChannel channel;
    int disposed;

    protected BrokerSession(BrokerConnection broker, IConnection connection, IChannel channel, ConfirmedPublisher publisher)
    {
        this.broker = broker;
        this.channel = channel;
        Connection = connection;
        Publisher = publisher;
        broker.ConnectionLost += OnConnectionLost;
    }

    public IConnection Connection { get; }
    public ConfirmedPublisher Publisher { get; }

    /// <summary>Called once the session's own connection is found dead, after the publisher was aborted.</summary>
    protected abstract void ConnectionLost(IConnection lost);

    void OnConnectionLost(IConnection lost)
    {
        if (lost != Connection) return;
        Publisher.Abort();
        ConnectionLost(lost);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        broker.ConnectionLost -= OnConnectionLost;
        var dead = !Connection.IsOpen;
        if (dead) Publisher.Abort();
        await Publisher.DisposeAsync();
        await ChannelClosing.CloseAsync(channel, dead);
    }
}
