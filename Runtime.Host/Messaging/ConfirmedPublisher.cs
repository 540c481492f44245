using RabbitMQ.Client;

namespace Weaving.Host.Messaging;

/// <summary>
/// A channel in publisher-confirm mode that keeps many publishes in flight: each publish returns at once, and
/// <see cref="WhenAllConfirmedAsync"/> waits for the broker's confirm of all of them. At most <c>window</c> publishes wait
/// for a confirm; the next one waits for the oldest. Publishes leave in call order (the client numbers and writes them
/// under one lock, taken in order), so the order a sender publishes in is the order a queue receives.
/// </summary>
public sealed class ConfirmedPublisher : IAsyncDisposable
{
    readonly IChannel channel;
    readonly int window;
    readonly Queue<Task> inFlight = new();

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
    /// Publishes to <paramref name="queue"/> through the default exchange. With <paramref name="mandatory"/>, a queue that
    /// does not exist fails the publish instead of dropping the message.
    /// </summary>
    public async ValueTask PublishAsync(string queue, BasicProperties properties, ReadOnlyMemory<byte> body, bool mandatory,
        CancellationToken cancellationToken = default)
    {
        while (inFlight.Count >= window)
            await inFlight.Dequeue();
        var confirmed = channel.BasicPublishAsync("", queue, mandatory, properties, body, cancellationToken);
        if (!confirmed.IsCompletedSuccessfully) inFlight.Enqueue(confirmed.AsTask());
    }

    /// <summary>Waits for every publish so far to be confirmed; throws if the broker refused or returned one.</summary>
    public async Task WhenAllConfirmedAsync()
    {
        while (inFlight.Count > 0)
            await inFlight.Dequeue();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (channel.IsOpen) await channel.CloseAsync();
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or OperationCanceledException) { }
        channel.Dispose();
    }
}
