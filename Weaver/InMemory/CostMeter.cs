using System.Diagnostics;

namespace Weaving.InMemory;

/// <summary>
/// A running estimate of what something costs, in stopwatch ticks, from timed samples (see <see cref="Add"/>). Measuring
/// every call would cost more than the smallest handlers (two timestamps are tens of nanoseconds), so callers time one
/// call in <see cref="SampleEvery"/>, one in <see cref="SampleEveryCheap"/> while a call costs less than
/// <see cref="CheapTicks"/> (the timestamps then stay under a nanosecond a call), every call after a sample more than twice
/// the estimate (so that a cost that grew is caught up with in a few calls, not a few thousand), and the first
/// <see cref="Warmup"/> calls but the first two, so that an estimate exists early.
/// Updates take no lock: two senders timing hand-offs to one group at once may lose a sample, and a reader may see the
/// estimate a few samples late; either only delays a decision by a few messages.
/// </summary>
sealed class CostMeter(double initialTicks, bool typical = false)
{
    public const int SampleEvery = 16;
    public const int SampleEveryCheap = 256;
    const int Warmup = 8;
    static readonly double CheapTicks = TicksFromMicroseconds(0.25);

    // The last samples of a meter of typical costs (see Add), the oldest overwritten first.
    const int TypicalOf = 8;
    readonly double[]? recent = typical ? new double[TypicalOf] : null;
    double estimate = initialTicks;
    // Calls left until the next timed one; the first two are not timed: they pay for the JIT.
    int countdown = 3;
    long samples;
    long lastSampled;

    /// <summary>When the last sample was taken (a stopwatch timestamp), zero before any.</summary>
    public long LastSampled => Volatile.Read(ref lastSampled);

    /// <summary>Samples taken so far (zero: the estimate is the prior).</summary>
    public long Samples => Volatile.Read(ref samples);

    /// <summary>The estimate, in stopwatch ticks.</summary>
    public double Ticks => Volatile.Read(ref estimate);

    /// <summary>True when this call should be timed.</summary>
    public bool ShouldSample()
    {
        if (--countdown > 0) return false;
        countdown = samples < Warmup ? 1 : estimate < CheapTicks ? SampleEveryCheap : SampleEvery;
        return true;
    }

    /// <summary>
    /// Adds the sample of a call timed from <paramref name="start"/> to <paramref name="end"/> (stopwatch timestamps).
    /// A meter of typical costs (a hand-off: fast mostly, slow when it has to wake the worker or meets it holding the
    /// lock, in runs) takes the median of its last eight samples: a run of slow ones, as at the start of a burst when
    /// every worker sleeps, moves it only once they are most of the recent hand-offs.
    /// </summary>
    public void Add(long start, long end) => Add(start, end, 1);

    /// <summary>Adds a sample of <paramref name="calls"/> calls timed together, from <paramref name="start"/> to
    /// <paramref name="end"/>: what one of them cost.</summary>
    public void Add(long start, long end, long calls)
    {
        var ticks = (end - start) / Math.Max(1, calls);
        var count = Volatile.Read(ref samples);
        double next;
        if (recent is not null)
            next = MedianWith(ticks, count);
        else
        {
            // The first sample replaces the prior. Then down at once, up by doubling: a thread preempted in the middle of a
            // timed call makes a sample far too long (on a busy machine, milliseconds for a call of nanoseconds), never too
            // short; so a shorter sample is believed at once, a longer one at most doubles the estimate, and the next
            // call, timed too, undoes that. A cost that really grew is caught up with in a few calls.
            var m = Volatile.Read(ref estimate);
            next = count == 0 || ticks <= m ? ticks : Math.Min(ticks, 2 * m);
            if (count != 0 && ticks > 2 * m) countdown = 1;
        }
        Volatile.Write(ref estimate, next);
        Volatile.Write(ref samples, count + 1);
        Volatile.Write(ref lastSampled, end);
    }

    // The median of the last samples of a meter of typical costs, this one (the count-th) included.
    double MedianWith(long ticks, long count)
    {
        recent![count % TypicalOf] = ticks;
        var filled = (int)Math.Min(count + 1, TypicalOf);
        // An insertion sort of at most TypicalOf values, by hand: Span<double>.Sort would be compiled at run time, its
        // code being the framework's, generic, and outside this assembly's precompiled image (see EnvelopeList).
        Span<double> sorted = stackalloc double[TypicalOf];
        for (var i = 0; i < filled; i++)
        {
            var value = recent[i];
            var j = i;
            for (; j > 0 && sorted[j - 1] > value; j--) sorted[j] = sorted[j - 1];
            sorted[j] = value;
        }
        return filled % 2 == 1 ? sorted[filled / 2] : (sorted[filled / 2 - 1] + sorted[filled / 2]) / 2;
    }

    public static double TicksFromMicroseconds(double microseconds) => microseconds * Stopwatch.Frequency / 1e6;

    public static double MicrosecondsFromTicks(double ticks) => ticks * 1e6 / Stopwatch.Frequency;
}
