namespace Weaving.Host.Consuming;

/// <summary>
/// How many deliveries a group consumer lets the broker give it at a time (its prefetch). RabbitMQ bounds a consumer by
/// count only, and the client reads each body whole into a pooled buffer rounded up to a power of two, so a delivery of
/// up to twice <c>MaxMessageBytes</c> costs at most twice that: holding at most <c>MaxHeldBytes</c> means taking at most
/// <c>(MaxHeldBytes - Reserve) / (2 × MaxMessageBytes)</c> deliveries, where <see cref="Reserve"/> covers what reading
/// big bodies costs besides the bodies held (the client's read buffers, freed buffers its pool keeps, garbage not yet
/// collected: measured at 30 to 65 MiB with 17 MiB bodies). Bodies bigger still must be refused by the broker: its <c>max_message_size</c> set to
/// <c>MaxMessageBytes</c>.
/// </summary>
public sealed record DeliveryWindow(ushort Prefetch, ushort ByCount, long ByBytes, long MaxHeldBytes)
{
    public const long Reserve = 96L << 20;

    public static DeliveryWindow For(WeavingOptions options)
    {
        var perDelivery = 2L * options.MaxMessageBytes;
        var byBytes = Math.Max(1, (options.MaxHeldBytes - Reserve) / perDelivery);
        return new DeliveryWindow((ushort)Math.Min(options.Prefetch, byBytes), options.Prefetch, byBytes, options.MaxHeldBytes);
    }

    public override string ToString() =>
        $"prefetch {Prefetch} ({(ByBytes < ByCount ? $"limited by Weaving:MaxHeldBytes {MaxHeldBytes >> 20} MiB; Weaving:Prefetch {ByCount}" : $"Weaving:Prefetch; Weaving:MaxHeldBytes {MaxHeldBytes >> 20} MiB allows {ByBytes}")})";
}
