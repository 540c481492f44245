using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>One connection's channels of a group consumer: the consumer's, and the publisher's.</summary>
sealed class ConsumerSession(int epoch, BrokerConnection broker, IConnection connection, IChannel consumeChannel, ConfirmedPublisher publisher)
    : BrokerSession(broker, connection, consumeChannel, publisher), IBatchSession
{
    public int Epoch { get; } = epoch;
    public IChannel ConsumeChannel { get; } = consumeChannel;
    /// <summary>Cancelled when a channel of the session closed without this process asking.</summary>
    public CancellationTokenSource Lost { get; } = new();
    public string? ConsumerTag { get; set; }
    public bool OwnerChecked { get; set; }
    public bool CancelledByBroker { get; set; }

    public ValueTask PublishAsync(Outbound message) => Publisher.PublishAsync(message);
    public Task WhenAllConfirmedAsync() => Publisher.WhenAllConfirmedAsync();
    public ValueTask RejectAsync(ulong deliveryTag) => ConsumeChannel.BasicRejectAsync(deliveryTag, requeue: false, Lost.Token);
    public ValueTask AcknowledgeUpToAsync(ulong deliveryTag) => ConsumeChannel.BasicAckAsync(deliveryTag, multiple: true, Lost.Token);

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
