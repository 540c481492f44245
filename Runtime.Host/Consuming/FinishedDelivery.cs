using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>
/// A delivery that is done here: what to publish, what to report, then the tag to acknowledge. <paramref name="Epoch"/>
/// names the session it arrived on: a tag of another session cannot be acknowledged.
/// </summary>
public sealed record FinishedDelivery(ulong DeliveryTag, int Epoch, string? ReplyTo, Completion? Completion, List<Outbound> Messages, bool Ran)
{
    /// <summary>A redelivery of a message that ran here already: acknowledged, nothing else.</summary>
    public static FinishedDelivery Duplicate(ulong deliveryTag, int epoch) => new(deliveryTag, epoch, null, null, [], Ran: false);
}
