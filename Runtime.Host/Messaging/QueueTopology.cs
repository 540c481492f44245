using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Weaving.Host.Messaging;

/// <summary>
/// Declares a woven app's queues. Every process declares them, identically (a declaration with other arguments would be
/// refused), so that the first one to start, a host or the source, creates them, and no message is published to a queue
/// that does not exist yet.
/// </summary>
public static class QueueTopology
{
    public static async Task DeclareAsync(IChannel channel, WovenApp app, CancellationToken cancellationToken = default)
    {
        foreach (var group in app.Groups)
            await DeclareGroupAsync(channel, app, group, cancellationToken);
    }

    public static async Task DeclareGroupAsync(IChannel channel, WovenApp app, GroupInfo group, CancellationToken cancellationToken = default)
    {
        var queue = QueueNames.ForGroup(app, group);
        var dead = QueueNames.DeadLetters(queue);
        await channel.QueueDeclareAsync(dead, durable: true, exclusive: false, autoDelete: false, arguments: null,
            cancellationToken: cancellationToken);
        var arguments = new Dictionary<string, object?>
        {
            // Rejected messages land in the dead-letter queue too; the host itself dead-letters by publishing there with a
            // reason header, and acknowledging the original.
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = dead,
        };
        // A group that owns state must run in one process at a time: the other consumers wait as hot standbys.
        if (group.OwnsState) arguments["x-single-active-consumer"] = true;
        try
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments,
                cancellationToken: cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            throw new InvalidOperationException(
                $"queue {queue} exists with other settings than this host declares ({e.ShutdownReason.ReplyText}); " +
                "it was made by another version or by hand: delete it (rabbitmqctl delete_queue " + queue + ") and start again.", e);
        }
    }
}
