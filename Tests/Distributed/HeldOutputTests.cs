using Weaving.Host.Consuming;
using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Tests.Distributed;

/// <summary>
/// The console output of a group that keeps checkpoints, held until a checkpoint carries it, without a broker: what a
/// checkpoint carries (everything since the last one released, also when the one before it never reached the broker),
/// how it travels in the checkpoint message, and what the holding writer holds.
/// </summary>
[TestClass]
public sealed class HeldOutputTests
{
    const string Run = "weaving.App.source.0123456789abcdef";

    static FinishedDelivery Delivery(ulong tag, string? output, int generation = 0)
    {
        var id = MessageId.Root(7, tag);
        return new FinishedDelivery(tag, epoch: 1, Run, ran: true)
        {
            Id = id,
            Output = output,
            Generation = generation,
            Completion = new Completion(id, 0, [id.Child(0)]),
        };
    }

    static IEnumerable<MessageId> Reported(IReadOnlyList<HeldReport> reports) =>
        reports.SelectMany(r => DrainReport.Decode(r.Body)).Select(c => c.Id);

    [TestMethod]
    public void A_checkpoint_carries_what_its_deliveries_printed_and_report_and_the_next_one_only_what_came_after_it_was_released()
    {
        var release = new HeldRelease();
        release.Add(Delivery(1, "one\n"));
        release.Add(Delivery(2, null));
        var (output, reports) = release.Seal(sequence: 1, releasedSequence: 0);
        Assert.AreEqual("one\n", output);
        CollectionAssert.AreEqual(new[] { MessageId.Root(7, 1), MessageId.Root(7, 2) }, Reported(reports).ToArray());

        release.Released(1);
        release.Add(Delivery(3, "three\n"));
        (output, reports) = release.Seal(sequence: 2, releasedSequence: 1);
        Assert.AreEqual("three\n", output);
        CollectionAssert.AreEqual(new[] { MessageId.Root(7, 3) }, Reported(reports).ToArray());
    }

    [TestMethod]
    public void A_checkpoint_sealed_before_the_one_before_it_was_released_carries_both_and_its_release_covers_both()
    {
        // The connection was lost while checkpoint 1 was written: it may never reach the broker, so checkpoint 2 (whose
        // release then prints) must hold what 1 held.
        var release = new HeldRelease();
        release.Add(Delivery(1, "one\n"));
        release.Seal(sequence: 1, releasedSequence: 0);
        release.Add(Delivery(2, "two\n"));
        var (output, reports) = release.Seal(sequence: 2, releasedSequence: 0);
        Assert.AreEqual("one\ntwo\n", output);
        Assert.AreEqual(2, Reported(reports).Count());

        release.Released(2);
        release.Add(Delivery(3, "three\n"));
        Assert.AreEqual("three\n", release.Seal(sequence: 3, releasedSequence: 2).Output, "nothing of 1 or 2 is printed twice");
    }

    [TestMethod]
    public void What_a_checkpoint_released_by_the_consumer_after_a_reconnect_carried_is_not_carried_again()
    {
        var release = new HeldRelease();
        release.Add(Delivery(1, "one\n"));
        release.Seal(sequence: 1, releasedSequence: 0);
        release.Add(Delivery(2, "two\n"));
        // Checkpoint 1 was found in the broker and released on the new connection's first delivery.
        Assert.AreEqual("two\n", release.Seal(sequence: 2, releasedSequence: 1).Output);
    }

    [TestMethod]
    public void A_delivery_published_again_after_a_reconnect_is_held_once()
    {
        var release = new HeldRelease();
        var delivery = Delivery(1, "one\n");
        release.Add(delivery);
        release.Add(delivery);
        var (output, reports) = release.Seal(sequence: 1, releasedSequence: 0);
        Assert.AreEqual("one\n", output);
        Assert.AreEqual(1, Reported(reports).Count());
    }

    [TestMethod]
    public void When_the_state_is_replaced_what_was_held_on_the_old_one_is_dropped_its_messages_run_again()
    {
        var release = new HeldRelease();
        release.Add(Delivery(1, "old\n", generation: 1));
        release.Seal(sequence: 1, releasedSequence: 0);
        release.Add(Delivery(2, "old too\n", generation: 1));
        release.Follow(2);
        release.Add(Delivery(3, "new\n", generation: 2));
        var (output, reports) = release.Seal(sequence: 2, releasedSequence: 0);
        Assert.AreEqual("new\n", output);
        CollectionAssert.AreEqual(new[] { MessageId.Root(7, 3) }, Reported(reports).ToArray());
    }

    [TestMethod]
    public void A_checkpoint_message_keeps_its_output_and_reports()
    {
        var id = MessageId.Root(1, 2);
        var report = DrainReport.Encode([new Completion(id, 1, [id.Child(0), id.Child(1)])]);
        var record = new CheckpointRecord("host-3", 3, Run, 42, "build", "vm pid 1", "host", [id], """{"a":1}"""u8.ToArray())
        {
            Output = "line \"one\"\n\u00e9\n",
            Reports = [new HeldReport(Run, report)],
        };
        var outbound = record.ToOutbound("queue.checkpoint", "Group");

        var read = CheckpointRecord.Read(outbound.Properties, outbound.Body);
        Assert.AreEqual(record.Output, read.Output);
        Assert.AreEqual(1, read.Reports.Count);
        Assert.AreEqual(Run, read.Reports[0].ControlQueue);
        CollectionAssert.AreEqual(report, read.Reports[0].Body);
        Assert.AreEqual("""{"a":1}""", System.Text.Encoding.UTF8.GetString(read.State.Span));
        Assert.IsTrue(read.HoldsRelease);

        var without = (record with { Output = null, Reports = [] }).ToOutbound("queue.checkpoint", "Group");
        var plain = CheckpointRecord.Read(without.Properties, without.Body);
        Assert.IsNull(plain.Output);
        Assert.IsFalse(plain.HoldsRelease);
    }

    [TestMethod]
    public void The_holding_console_holds_what_a_delivery_s_thread_writes_and_lets_other_threads_through()
    {
        var original = Console.Out;
        var console = new StringWriter();
        Console.SetOut(console);
        try
        {
            HeldConsole.Install();
            HeldConsole.Begin();
            Console.WriteLine("held");
            Console.Write('!');
            Console.Out.Write("x".AsSpan());
            var other = new Thread(() => Console.WriteLine("through"));
            other.Start();
            other.Join();
            var held = HeldConsole.End();
            Console.WriteLine("after");

            Assert.AreEqual($"held{Environment.NewLine}!x", held);
            Assert.AreEqual($"through{Environment.NewLine}after{Environment.NewLine}", console.ToString());
            HeldConsole.Print(held!);
            Assert.AreEqual($"through{Environment.NewLine}after{Environment.NewLine}held{Environment.NewLine}!x", console.ToString());
        }
        finally
        {
            Console.SetOut(original);
        }
    }
}
