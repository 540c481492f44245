namespace Weaving.Execution;

/// <summary>
/// A growable list of <see cref="Envelope"/>s: the queues and scratch lists of a group's worker and executor.
/// <para>
/// Not <c>List&lt;Envelope&gt;</c>: the code of a framework generic over a value type of this assembly lies outside the
/// assembly's precompiled (ReadyToRun) image, so every woven program that started a worker compiled <c>List&lt;Envelope&gt;</c>
/// (a dozen methods, and the tuple stack and sort helpers beside it) with the JIT at run time: milliseconds of start-up
/// that the unwoven program never spends. This type is compiled with the runtime; it uses no generic method of the
/// framework.
/// </para>
/// </summary>
public sealed class EnvelopeList
{
    Envelope[] items;
    int count;

    public EnvelopeList() => items = new Envelope[4];

    public int Count => count;

    public Envelope this[int index] => (uint)index < (uint)count ? items[index] : throw new ArgumentOutOfRangeException(nameof(index));

    public void Add(in Envelope envelope)
    {
        if (count == items.Length)
        {
            var grown = new Envelope[items.Length * 2];
            Array.Copy(items, grown, count);
            items = grown;
        }
        items[count++] = envelope;
    }

    /// <summary>Drops the envelopes from <paramref name="start"/> on (what a handler that failed had posted).</summary>
    public void RemoveFrom(int start)
    {
        if ((uint)start > (uint)count) throw new ArgumentOutOfRangeException(nameof(start));
        Array.Clear(items, start, count - start);
        count = start;
    }

    public void Clear() => RemoveFrom(0);

    public Enumerator GetEnumerator() => new(this);

    /// <summary>For <c>foreach</c>, without boxing and without a framework generic.</summary>
    public struct Enumerator(EnvelopeList list)
    {
        int index = -1;

        public readonly Envelope Current => list.items[index];

        public bool MoveNext() => ++index < list.count;
    }
}
