using RabbitMQ.Client;

namespace Weaving.Host.Messaging;

/// <summary>A message to publish through the default exchange: to a queue, with its properties and body.</summary>
public readonly record struct Outbound(string Queue, BasicProperties Properties, ReadOnlyMemory<byte> Body, bool Mandatory);

/// <summary>
/// A channel in publisher-confirm mode that keeps many publishes in flight: each publish returns at once, and
/// <see cref="WhenAllConfirmedAsync"/> waits for the broker's confirm of all of them. At most <c>window</c> publishes wait
/// for a confirm; the next one waits for the oldest. Publishes leave in call order (the client numbers and writes them
/// under one lock, taken in order), so the order a sender publishes in is the order a queue receives. Each publish is
/// kept until it is known to be confirmed, so that after losing the broker <see cref="Unconfirmed"/> can be published
/// again on a new channel.
/// </summary>
public sealed class ConfirmedPublisher : IAsyncDisposable
{
    readonly IChannel channel;
    readonly int window;
    readonly Queue<(Task Confirmed, Outbound Message)> inFlight = new();
    // Cancelled when the connection is known to be dead: a publish the client left waiting on a dead socket gives up.
    readonly CancellationTokenSource aborted = new();

    ConfirmedPublisher(IChannel channel, int window)
    {
        this.channel = channel;
        this.window = Math.Max(1, window);
    }

    public static async Task<ConfirmedPublisher> OpenAsync(IConnection connection, int window, CancellationToken cancellationToken = default)
    {
        // No rate limiter of the client's: it would delay publishes past half its limit; the window here bounds them.
        var options = new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: null);
        return new ConfirmedPublisher(await connection.CreateChannelAsync(options, cancellationToken), window);
    }

    public IChannel Channel => channel;

    public int InFlight => inFlight.Count;

    /// <summary>
    /// Publishes <paramref name="message"/>. With <see cref="Outbound.Mandatory"/>, a queue that does not exist fails the
    /// publish instead of dropping the message.
    /// </summary>
    public async ValueTask PublishAsync(Outbound message)
    {
        // The oldest publish is dropped once confirmed; one that failed throws here and stays, unconfirmed.
        while (inFlight.Count >= window)
        {
            await inFlight.Peek().Confirmed.WaitAsync(aborted.Token);
            inFlight.Dequeue();
        }
        var confirmed = channel.BasicPublishAsync("", message.Queue, message.Mandatory, message.Properties, message.Body, aborted.Token);
        inFlight.Enqueue((confirmed.IsCompletedSuccessfully ? Task.CompletedTask : confirmed.AsTask(), message));
    }

    /// <summary>Waits for every publish so far to be confirmed; throws if the broker refused or returned one.</summary>
    public async Task WhenAllConfirmedAsync()
    {
        while (inFlight.Count > 0)
        {
            await inFlight.Peek().Confirmed.WaitAsync(aborted.Token);
            inFlight.Dequeue();
        }
    }

    /// <summary>
    /// The connection is dead: every publish and wait of this channel stops now, with an <see cref="OperationCanceledException"/>.
    /// Needed because RabbitMQ.Client 7.2 can leave a publish waiting forever on the socket of a connection the broker
    /// closed, holding a lock that keeps the client from reporting the connection closed (rabbitmq-dotnet-client#1930).
    /// </summary>
    public void Abort()
    {
        try { aborted.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    /// <summary>
    /// The publishes not known to be confirmed, oldest first: after the channel died, these may or may not be in their
    /// queues. Publishing them again can make duplicates, which the receivers recognise by their ids.
    /// </summary>
    public IReadOnlyList<Outbound> Unconfirmed() => inFlight.Select(p => p.Message).ToArray();

    public async ValueTask DisposeAsync()
    {
        await ChannelClosing.CloseAsync(channel, aborted.IsCancellationRequested);
        aborted.Dispose();
    }
}

/// <summary>Closing a channel without waiting forever on a connection that died.</summary>
public static class ChannelClosing
{
    static readonly TimeSpan patience = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Closes <paramref name="channel"/>, politely when its connection is alive; when it is not (<paramref name="dead"/>),
    /// in the background, since the client may take minutes to give up on the socket.
    /// </summary>
    public static async Task CloseAsync(IChannel channel, bool dead)
    {
        if (dead)
        {
            _ = Task.Run(() => channel.Dispose());
            return;
        }
        try
        {
            using var timeout = new CancellationTokenSource(patience);
            if (channel.IsOpen) await channel.CloseAsync(timeout.Token);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException
                                       or OperationCanceledException or IOException or ObjectDisposedException) { }
        _ = Task.Run(() => channel.Dispose());
    }
}
