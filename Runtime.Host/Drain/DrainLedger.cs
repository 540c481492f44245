namespace Weaving.Host.Drain;

/// <summary>
/// The source's account of the work it started, which tells <see cref="IPipelineTransport.Drain"/> exactly when that
/// work has finished across every process.
/// <para>
/// The algorithm. The ledger holds the set of <em>announced, unfinished</em> message ids. The source announces each
/// message before it publishes it. A host, for every message it finishes, reports a <see cref="Completion"/>: the id, and
/// the ids of the messages the run sent to other groups (same-group posts ran inside the same run). Applying a completion
/// removes its id and announces the ids it sent. The work is finished when the set is empty.
/// </para>
/// <para>
/// Why that is exact. A host publishes the report of a message, and waits for the broker's confirm that it is in the
/// source's control queue, <em>before</em> it publishes any message that run sent. So a child's report is enqueued after
/// its parent's, the one control queue keeps that order, and the source applies a parent before any of its children:
/// every completion the ledger applies is of an id it announced. Then:
/// <list type="bullet">
/// <item>never early: while some message M of the run is unfinished, take its ancestors from the root the source sent down
/// to M; the first of them whose completion has not been applied is in the set (the source announced it, or its parent's
/// applied completion did), so the set is not empty;</item>
/// <item>never stuck: once everything has finished, every completion reaches the queue and is applied, each removing one
/// id and adding only ids that will themselves complete;</item>
/// <item>cycles and depth cost nothing: the set holds only what is in flight (1 entry along a chain of a million hops,
/// 100,000 for a fan-out of 100,000), never the history.</item>
/// </list>
/// </para>
/// <para>
/// Redelivery. Ids are deterministic (<see cref="MessageId.Child"/>), so a message run twice reports the same id twice:
/// the second completion finds its id gone from the set and is ignored, and is not counted, nor are its failures. A host
/// that dies after reporting but before publishing what it sent leaves those ids announced; the message is redelivered,
/// run again, and its sends published, which completes them. Reports of another run go to another queue.
/// </para>
/// </summary>
public sealed class DrainLedger
{
    readonly object gate = new(); // a Monitor, for Wait/PulseAll
    readonly HashSet<MessageId> unfinished = [];
    long failures;
    long completed;
    long ignored;
    Exception? broken;

    /// <summary>Handler failures reported by the hosts, each message counted once.</summary>
    public long Failures { get { lock (gate) return failures; } }

    public long Completed { get { lock (gate) return completed; } }

    /// <summary>Completions that named no unfinished message: redeliveries.</summary>
    public long Ignored { get { lock (gate) return ignored; } }

    public int Unfinished { get { lock (gate) return unfinished.Count; } }

    /// <summary>Called by the source before it publishes <paramref name="id"/>.</summary>
    public void Announce(MessageId id)
    {
        lock (gate) unfinished.Add(id);
    }

    /// <summary>Takes back an announcement whose publish failed.</summary>
    public void Withdraw(MessageId id)
    {
        lock (gate)
            if (unfinished.Remove(id) && unfinished.Count == 0) Monitor.PulseAll(gate);
    }

    /// <summary>Applies one reported completion; false when it was a duplicate and changed nothing.</summary>
    public bool Apply(in Completion completion)
    {
        lock (gate)
        {
            if (!unfinished.Remove(completion.Id))
            {
                ignored++;
                return false;
            }
            foreach (var sent in completion.Sent) unfinished.Add(sent);
            failures += completion.Failures;
            completed++;
            if (unfinished.Count == 0) Monitor.PulseAll(gate);
            return true;
        }
    }

    /// <summary>No report can arrive any more (the broker is gone): waiting stops, with <paramref name="reason"/>.</summary>
    public void Break(Exception reason)
    {
        lock (gate)
        {
            broken ??= reason;
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>
    /// Waits until every announced message has finished; false if <paramref name="timeout"/> passed first. Throws
    /// <see cref="BrokerLostException"/> once the ledger is broken, since the wait could never end.
    /// </summary>
    public bool WaitUntilFinished(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (gate)
        {
            while (unfinished.Count > 0)
            {
                if (broken is not null)
                    throw new BrokerLostException($"{unfinished.Count} message(s) not known to have finished: {broken.Message}", broken);
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(gate, left);
            }
            return true;
        }
    }
}

/// <summary>The broker went away while the source waited for its work: the run cannot be completed.</summary>
public sealed class BrokerLostException(string message, Exception? inner = null) : Exception(message, inner);
