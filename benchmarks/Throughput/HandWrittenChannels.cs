using System.Threading.Channels;

namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// The floor for the in-memory runtime: the three stages of Pipeline3 written by hand as three loops joined by bounded
/// channels (single reader, single writer, the capacity of the woven runtime's queues), each loop on a thread of the
/// pool, the source on the caller's thread. Events travel as structs: no allocation per hop.
/// </summary>
public static class HandWrittenChannels
{
    const int Capacity = 4096;

    readonly record struct Event(long Id, ulong Value);

    /// <summary>Runs <paramref name="events"/> events through the three stages; returns the last stage's checksum.</summary>
    public static ulong Run(int events, int work, ulong checksum = 0)
    {
        var toParse = NewChannel();
        var toEnrich = NewChannel();
        var toAggregate = NewChannel();
        var parse = Task.Run(() => Stage(toParse.Reader, toEnrich.Writer, work));
        var enrich = Task.Run(() => Stage(toEnrich.Reader, toAggregate.Writer, work));
        var aggregate = Task.Run(() => Aggregate(toAggregate.Reader, work, checksum));

        var source = toParse.Writer;
        for (var i = 0; i < events; i++)
        {
            var e = new Event(i, (ulong)i);
            if (!source.TryWrite(e)) source.WriteAsync(e).AsTask().GetAwaiter().GetResult();
        }
        source.Complete();
        Task.WaitAll(parse, enrich);
        return aggregate.GetAwaiter().GetResult();
    }

    static Channel<Event> NewChannel() => Channel.CreateBounded<Event>(new BoundedChannelOptions(Capacity)
    {
        SingleReader = true,
        SingleWriter = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    // Parse and Enrich: the same step, id in, work on the value, out to the next stage.
    static async Task Stage(ChannelReader<Event> input, ChannelWriter<Event> output, int work)
    {
        while (await input.WaitToReadAsync().ConfigureAwait(false))
            while (input.TryRead(out var e))
            {
                var next = new Event(e.Id, StageWork.Run(e.Value, work));
                if (!output.TryWrite(next)) await output.WriteAsync(next).ConfigureAwait(false);
            }
        output.Complete();
    }

    static async Task<ulong> Aggregate(ChannelReader<Event> input, int work, ulong checksum)
    {
        while (await input.WaitToReadAsync().ConfigureAwait(false))
            while (input.TryRead(out var e))
                checksum = StageWork.Fold(checksum, e.Id, e.Value, work);
        return checksum;
    }
}
