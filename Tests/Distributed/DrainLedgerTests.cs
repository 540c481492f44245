using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Tests.Distributed;

/// <summary>
/// The source's drain accounting, fed reports as the hosts would send them: exact (never early, never stuck) on chains,
/// fan-outs and cycles, and blind to redeliveries.
/// </summary>
[TestClass]
public sealed class DrainLedgerTests
{
    static readonly MessageId root = MessageId.Root(42, 0);

    [TestMethod]
    public void A_chain_of_a_million_hops_drains_after_the_last_hop_and_not_before()
    {
        var ledger = new DrainLedger();
        ledger.Announce(root);
        var current = root;
        for (var hop = 0; hop < 1_000_000; hop++)
        {
            var next = current.Child(0);
            Assert.IsTrue(ledger.Apply(new Completion(current, 0, [next])));
            if (hop % 100_000 == 0) Assert.IsFalse(ledger.WaitUntilFinished(TimeSpan.Zero), $"drained early at hop {hop}");
            current = next;
        }
        Assert.AreEqual(1, ledger.Unfinished, "only the message in flight is held, never the history");
        Assert.IsFalse(ledger.WaitUntilFinished(TimeSpan.Zero));
        ledger.Apply(new Completion(current, 0, []));
        Assert.IsTrue(ledger.WaitUntilFinished(TimeSpan.Zero));
    }

    [TestMethod]
    public void A_fan_out_of_100000_drains_only_when_every_child_has_finished()
    {
        var ledger = new DrainLedger();
        ledger.Announce(root);
        var children = Enumerable.Range(0, 100_000).Select(root.Child).ToArray();
        ledger.Apply(new Completion(root, 0, children));
        for (var i = children.Length - 1; i > 0; i--)
            ledger.Apply(new Completion(children[i], 0, []));
        Assert.IsFalse(ledger.WaitUntilFinished(TimeSpan.Zero), "one child is still running");
        ledger.Apply(new Completion(children[0], 0, []));
        Assert.IsTrue(ledger.WaitUntilFinished(TimeSpan.Zero));
        Assert.AreEqual(100_001, ledger.Completed);
    }

    [TestMethod]
    public void A_cycle_between_groups_drains_when_it_stops_posting()
    {
        // A ping-pong between two groups: each hop a new id, the same stages over and over.
        var ledger = new DrainLedger();
        ledger.Announce(root);
        var current = root;
        for (var hop = 0; hop < 1_000; hop++)
        {
            var ping = current.Child(0);
            ledger.Apply(new Completion(current, 0, hop < 999 ? [ping] : []));
            Assert.AreEqual(hop < 999, !ledger.WaitUntilFinished(TimeSpan.Zero));
            current = ping;
        }
    }

    [TestMethod]
    public void A_redelivered_message_is_counted_once_with_its_failures()
    {
        var ledger = new DrainLedger();
        ledger.Announce(root);
        var child = root.Child(0);
        Assert.IsTrue(ledger.Apply(new Completion(root, 1, [child])));
        // The host died after reporting and before acknowledging: the message ran again and reported again.
        Assert.IsFalse(ledger.Apply(new Completion(root, 1, [child])), "a second completion of the same id changes nothing");
        Assert.IsFalse(ledger.WaitUntilFinished(TimeSpan.Zero), "the child has not finished");
        Assert.IsTrue(ledger.Apply(new Completion(child, 0, [])));
        Assert.IsFalse(ledger.Apply(new Completion(child, 0, [])), "the child ran twice too");
        Assert.IsTrue(ledger.WaitUntilFinished(TimeSpan.Zero));
        Assert.AreEqual(1, ledger.Failures, "failures counted once");
        Assert.AreEqual(2, ledger.Ignored);
    }

    [TestMethod]
    public void A_child_that_reports_before_its_parent_is_applied_when_the_parent_reports()
    {
        // A host publishes what a message sent before it reports the message: the child can finish first.
        var ledger = new DrainLedger();
        ledger.Announce(root);
        var child = root.Child(0);
        var grandchild = child.Child(0);
        Assert.IsFalse(ledger.Apply(new Completion(grandchild, 0, [])), "parked: not announced yet");
        Assert.IsFalse(ledger.Apply(new Completion(child, 1, [grandchild])), "parked: not announced yet");
        Assert.IsFalse(ledger.WaitUntilFinished(TimeSpan.Zero), "the root has not reported");
        Assert.IsTrue(ledger.Apply(new Completion(root, 0, [child])));
        Assert.IsTrue(ledger.WaitUntilFinished(TimeSpan.Zero), "the parked child and grandchild were applied with the root");
        Assert.AreEqual(3, ledger.Completed);
        Assert.AreEqual(1, ledger.Failures);
        Assert.AreEqual(0, ledger.Parked);
    }

    [TestMethod]
    public void A_standby_that_runs_a_message_again_with_other_children_does_not_make_the_drain_wait_forever()
    {
        // The active host of a stateful group ran M, sent A and B (both in their queue), reported M, and died before it
        // acknowledged M. The standby, with empty state, runs M again and sends A and C instead of A and B.
        var ledger = new DrainLedger();
        ledger.Announce(root);
        var (a, b, c) = (root.Child(0), root.Child(1), root.Child(2));
        Assert.IsTrue(ledger.Apply(new Completion(root, 0, [a, b])));
        Assert.IsFalse(ledger.Apply(new Completion(root, 0, [a, c])), "the second run of M changes nothing");
        Assert.IsFalse(ledger.Apply(new Completion(c, 0, [])), "C was never announced: parked, not waited for");
        Assert.IsTrue(ledger.Apply(new Completion(b, 0, [])), "B exists: the first run sent it before it reported M");
        Assert.IsFalse(ledger.WaitUntilFinished(TimeSpan.Zero), "A has not finished");
        Assert.IsTrue(ledger.Apply(new Completion(a, 0, [])));
        Assert.IsTrue(ledger.WaitUntilFinished(TimeSpan.Zero));
        Assert.AreEqual(0, ledger.Parked, "what was parked is dropped once the drain ends: nothing can announce it any more");
    }

    [TestMethod]
    public void A_message_the_source_could_not_send_counts_as_failed_and_is_not_waited_for()
    {
        var ledger = new DrainLedger();
        ledger.FailUnsent();
        Assert.IsTrue(ledger.WaitUntilFinished(TimeSpan.Zero));
        Assert.AreEqual(1, ledger.Failures);
    }

    [TestMethod]
    public void Drain_waits_for_a_report_that_arrives_later()
    {
        var ledger = new DrainLedger();
        ledger.Announce(root);
        var reporter = Task.Run(async () =>
        {
            await Task.Delay(200);
            ledger.Apply(new Completion(root, 0, []));
        });
        Assert.IsTrue(ledger.WaitUntilFinished(TimeSpan.FromSeconds(10)));
        reporter.Wait();
    }

    [TestMethod]
    public void A_report_round_trips_through_its_wire_format()
    {
        Completion[] completions =
        [
            new(root, 0, []),
            new(root.Child(3), 2, [root.Child(3).Child(0), root.Child(3).Child(1)]),
        ];
        var decoded = DrainReport.Decode(DrainReport.Encode(completions));
        Assert.AreEqual(2, decoded.Count);
        for (var i = 0; i < completions.Length; i++)
        {
            Assert.AreEqual(completions[i].Id, decoded[i].Id);
            Assert.AreEqual(completions[i].Failures, decoded[i].Failures);
            CollectionAssert.AreEqual(completions[i].Sent, decoded[i].Sent);
        }
        Assert.ThrowsExactly<FormatException>(() => DrainReport.Decode(DrainReport.Encode(completions).AsSpan(0, 30)));
    }

    [TestMethod]
    public void The_duplicate_window_forgets_the_oldest_id_first()
    {
        var window = new RecentIds(2);
        Assert.IsTrue(window.Add(root.Child(0)));
        Assert.IsFalse(window.Add(root.Child(0)));
        window.Add(root.Child(1));
        window.Add(root.Child(2));
        Assert.IsFalse(window.Contains(root.Child(0)));
        Assert.IsTrue(window.Contains(root.Child(2)));
    }
}
