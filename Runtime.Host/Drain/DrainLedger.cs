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
/// A host publishes what a message sent, and waits for the broker's confirm that it is in its queues, <em>before</em> it
/// reports the message. So every announced id is of a message that exists, and will report in turn: the ledger never
/// waits for a message that was not sent. The price: a child can finish, and report, before its parent's report arrives.
/// Such a completion is <em>parked</em> (kept by id); when its parent's completion announces it, it is applied at once.
/// </para>
/// <para>
/// Why that is exact. Never early: while some message M of the run is unfinished, take its ancestors from the root the
/// source sent down to M; the first of them whose completion has not been applied is in the set (the source announced
/// it, or its parent's applied completion did, and it was not parked, or it would have been applied then), so the set
/// is not empty. Never stuck: once everything has finished, every completion reaches the control queue; each applied one
/// removes one id and announces only messages that exist and will complete. Cycles and depth cost nothing: the set holds
/// only what is in flight (1 entry along a chain of a million hops, 100,000 for a fan-out of 100,000).
/// </para>
/// <para>
/// Redelivery. Ids are deterministic (<see cref="MessageId.Child"/>), so a message run twice reports the same id twice:
/// the second completion finds its id gone and is parked, never to be announced again: it changes nothing, its failures
/// included. A message run again by a standby that took over a stateful group with empty state may send other messages
/// than the first run did: those it sends in addition were never announced, so their completions are parked too, and the
/// drain does not wait for them (the host and the source warn of the takeover); none of its announced ids is missing,
/// since each was sent before it was announced. Parked completions are dropped when a drain ends: none of them can be
/// announced after the set was empty.
/// </para>
/// </summary>
public sealed class DrainLedger
{
    readonly object gate = new(); // a Monitor, for Wait/PulseAll
    readonly HashSet<MessageId> unfinished = [];
    readonly Dictionary<MessageId, Completion> parked = [];
    readonly Stack<Completion> applying = new();
    long failures;
    long completed;
    long ignored;
    Exception? broken;

    /// <summary>Handler failures reported by the hosts, each message counted once.</summary>
    public long Failures { get { lock (gate) return failures; } }

    public long Completed { get { lock (gate) return completed; } }

    /// <summary>Completions that named no unfinished message when they arrived: redeliveries, or early children.</summary>
    public long Ignored { get { lock (gate) return ignored; } }

    /// <summary>Completions waiting for their parent's, or that will never apply (redeliveries).</summary>
    public int Parked { get { lock (gate) return parked.Count; } }

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

    /// <summary>A message the source could not send: counted as failed, never announced.</summary>
    public void FailUnsent()
    {
        lock (gate) failures++;
    }

    /// <summary>
    /// Applies one reported completion; false when it named no unfinished message and was parked (it applies when its
    /// parent's completion announces it, or never, if it was a redelivery).
    /// </summary>
    public bool Apply(in Completion completion)
    {
        lock (gate)
        {
            if (!unfinished.Remove(completion.Id))
            {
                ignored++;
                parked.TryAdd(completion.Id, completion);
                return false;
            }
            applying.Push(completion);
            while (applying.TryPop(out var next))
            {
                failures += next.Failures;
                completed++;
                foreach (var sent in next.Sent)
                {
                    if (parked.Remove(sent, out var early)) applying.Push(early);
                    else unfinished.Add(sent);
                }
            }
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
    /// <see cref="BrokerLostException"/> once the ledger is broken, since the wait could never end. When it returns true,
    /// the parked completions are dropped: nothing can announce them any more.
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
            parked.Clear();
            return true;
        }
    }
}

/// <summary>The broker went away while the source waited for its work: the run cannot be completed.</summary>
public sealed class BrokerLostException(string message, Exception? inner = null) : Exception(message, inner);
