using Weaving.InMemory;

namespace Weaving.Tests.Runtime;

/// <summary>
/// The in-memory runtime's decision for one group (<see cref="RouteDecision"/>), fed made-up timings: what makes a group
/// get its worker, and what takes it back inline. The timings go in as stopwatch timestamps, so that a test can say
/// "100 ms later" without waiting.
/// </summary>
[TestClass]
public sealed class RouteDecisionTests
{
    static readonly long Microsecond = (long)CostMeter.TicksFromMicroseconds(1);

    // A clock for the made-up samples: every call moves it on by what the sample took.
    long now = 1_000_000 * Microsecond;

    void Sample(CostMeter meter, double microseconds)
    {
        var start = now;
        now += (long)(microseconds * Microsecond);
        meter.Add(start, now);
    }

    // Messages of `handler` µs run inline until the decision promotes the group (or `messages` ran): the messages it took.
    long RunInline(RouteDecision decision, double handler, long from, long messages)
    {
        for (var received = from + 1; received <= from + messages; received++)
        {
            if (decision.InlineCost.ShouldSample())
            {
                Sample(decision.InlineCost, handler);
                decision.Update(received);
            }
            else
                now += (long)(handler * Microsecond);
            if (decision.Route == GroupRoute.Hop) return received - from;
        }
        return messages;
    }

    [TestMethod]
    public void A_group_whose_first_messages_look_dear_gets_no_worker_before_it_did_two_milliseconds_of_work()
    {
        // 50 µs a message (the first ones of a short program, say, paying for the JIT): worth a hop each (8 hops of at least
        // 2 µs), but 40 of them are 2 ms of work in all, not worth a thread.
        var decision = new RouteDecision(InlinePolicy.Adaptive);
        Assert.AreEqual(20, RunInline(decision, handler: 50, from: 0, messages: 20), "20 messages of 50 µs are 1 ms of work");
        Assert.AreEqual(GroupRoute.Inline, decision.Route);

        var more = RunInline(decision, handler: 50, from: 20, messages: 1000);
        Assert.AreEqual(GroupRoute.Hop, decision.Route, "a group that keeps doing 50 µs a message gets its worker");
        Assert.IsTrue(20 + more is >= 40 and <= 60, $"promoted after {20 + more} messages of 50 µs: expected at about 2 ms of work (40)");
    }

    [TestMethod]
    public void A_group_whose_messages_are_copied_gets_no_worker_before_its_work_dwarfs_a_first_copy()
    {
        // Arguments' OnGrid: 30 grids of about 1.3 ms of work each, copied on a hop. Promoted after 2 ms of work, its first
        // copy paid for System.Text.Json's first use, 56 ms, and the woven program ran 1.66x as long as unwoven.
        var decision = new RouteDecision(InlinePolicy.Adaptive, copies: true);
        Assert.AreEqual(30, RunInline(decision, handler: 1300, from: 0, messages: 30), "30 messages of 1.3 ms are 39 ms of work");
        Assert.AreEqual(GroupRoute.Inline, decision.Route);

        var more = RunInline(decision, handler: 1300, from: 30, messages: 1000);
        Assert.AreEqual(GroupRoute.Hop, decision.Route, "a copying group that keeps working gets its worker");
        Assert.IsTrue(30 + more is >= 150 and <= 170, $"promoted after {30 + more} messages of 1.3 ms: expected at about 200 ms of work (154)");

        // Once a copy was timed its cost is known, part of the hop's: the ordinary budget applies again.
        var timed = new RouteDecision(InlinePolicy.Adaptive, copies: true);
        Sample(timed.CopyCost, 5);
        var notCopying = RunInline(new RouteDecision(InlinePolicy.Adaptive), handler: 1300, from: 0, messages: 30);
        Assert.AreEqual(notCopying, RunInline(timed, handler: 1300, from: 0, messages: 30),
            "with its copy timed at 5 µs, a 1.3 ms group is promoted as soon as one that copies nothing");
        Assert.AreEqual(GroupRoute.Hop, timed.Route);
        Assert.IsTrue(notCopying < 30, $"promoted after {notCopying} messages");
    }

    [TestMethod]
    public void A_cheap_group_gets_no_worker_however_long_it_runs()
    {
        var decision = new RouteDecision(InlinePolicy.Adaptive);
        RunInline(decision, handler: 2, from: 0, messages: 100_000);
        Assert.AreEqual(GroupRoute.Inline, decision.Route, "2 µs a message is under 8 hops of at least 2 µs");
        Assert.AreEqual(0, decision.Switches);
    }

    [TestMethod]
    public void Bursts_of_slow_hand_offs_do_not_take_a_busy_group_back_inline()
    {
        // A group of 40 µs messages on its worker, its sender's hand-offs 0.3 µs, but every thousandth post starts a burst of
        // 20 that take 60 µs each (every worker asleep at the start of a run, say). A hop is 0.6 µs most of the time:
        // the group must keep its worker. The meter used to let each slow sample call for the next to be timed, and
        // double the estimate on each: a burst of ten ratcheted it past 10 µs, and the group went inline for good.
        var decision = Promoted(handler: 40);
        var received = 10_000L;
        for (var post = 0; post < 100_000; post++)
        {
            received++;
            var slow = post % 1000 is >= 500 and < 520;
            if (decision.SendCost.ShouldSample())
            {
                Sample(decision.SendCost, slow ? 60 : 0.3);
                decision.Update(received);
            }
            if (post % 16 == 0)
            {
                Sample(decision.QueuedCost, 40);
                decision.Update(received);
            }
            Assert.AreEqual(GroupRoute.Hop, decision.Route,
                $"taken back inline at post {post}: hop estimated at {CostMeter.MicrosecondsFromTicks(decision.HopTicks):0.##} µs");
        }
        Assert.AreEqual(1, decision.Switches);
    }

    [TestMethod]
    public void Hand_offs_that_stay_slow_take_the_group_back_inline()
    {
        // The other side of the median: when most hand-offs cost 60 µs, a 40 µs message does not pay for its hop.
        var decision = Promoted(handler: 40);
        for (var post = 0; post < 10_000 && decision.Route == GroupRoute.Hop; post++)
        {
            if (decision.SendCost.ShouldSample())
            {
                Sample(decision.SendCost, post % 8 == 0 ? 0.3 : 60);
                decision.Update(10_000 + post);
            }
        }
        Assert.AreEqual(GroupRoute.Inline, decision.Route);
    }

    [TestMethod]
    public void A_group_taken_inline_by_dear_hops_tries_its_worker_again_once_that_measure_is_old()
    {
        var decision = Promoted(handler: 40);
        for (var post = 0; post < 10_000 && decision.Route == GroupRoute.Hop; post++)
            if (decision.SendCost.ShouldSample())
            {
                Sample(decision.SendCost, 60);
                decision.Update(10_000 + post);
            }
        Assert.AreEqual(GroupRoute.Inline, decision.Route, "hops of 60 µs do not pay for 40 µs of work");

        // Inline for a while: the hop of 60 µs measured back then still stands for 100 ms, however long the group runs.
        RunInline(decision, handler: 40, from: 20_000, messages: 2_000);
        Assert.AreEqual(GroupRoute.Inline, decision.Route, "80 ms later, the hop measured last is still what a hop costs");
        // Then it is stale: the machine, the load or the senders may have changed. The group gets its worker again to
        // measure the hop anew.
        RunInline(decision, handler: 40, from: 22_000, messages: 2_000);
        Assert.AreEqual(GroupRoute.Hop, decision.Route, "160 ms later the group should try its worker again");
    }

    [TestMethod]
    public void A_group_whose_every_message_the_source_waits_for_goes_back_inline_and_stays()
    {
        // SharedSink's two sides: 37 µs a message, hops under a microsecond, but the join rule makes the source drain after
        // each post, waiting for that one message: its hop overlaps nothing. Promoted by its handler's cost alone, both
        // sides ran on workers and the program took up to twice as long as unwoven (thousands of wake-ups).
        var decision = Promoted(handler: 37);
        RunQueuedAndWaitedFor(decision, handler: 37, wait: 37 + 40, posts: 1_000); // the message, and waking the worker for it
        Assert.AreEqual(GroupRoute.Inline, decision.Route, "a message the source waits for in full gains nothing on a worker");
        Assert.AreEqual(0, decision.OverlapTicks, "the overlap of a message waited for in full");

        // Inline, the wait measured last still stands for 100 ms: no worker again meanwhile, however dear the handler.
        RunInline(decision, handler: 37, from: 20_000, messages: 2_000);
        Assert.AreEqual(GroupRoute.Inline, decision.Route, "74 ms later, the source's wait measured last still holds");
        Assert.AreEqual(2, decision.Switches);
    }

    [TestMethod]
    public void A_group_the_source_waits_for_only_in_part_keeps_its_worker()
    {
        // The source works between its posts, and drains for the join rule only after some: the wait is a fraction of
        // the handler, and what is left still pays for the hop many times over.
        var decision = Promoted(handler: 100);
        RunQueuedAndWaitedFor(decision, handler: 100, wait: 30, posts: 1_000);
        Assert.AreEqual(GroupRoute.Hop, decision.Route, "70 µs of a 100 µs message overlap the source: worth a hop of 1 µs");
        Assert.AreEqual(1, decision.Switches);
    }

    // Messages of `handler` µs on the worker, the source waiting `wait` µs for each in a join drain, until the group goes
    // back inline (or `posts` were sent).
    void RunQueuedAndWaitedFor(RouteDecision decision, double handler, double wait, int posts)
    {
        for (var post = 0; post < posts && decision.Route == GroupRoute.Hop; post++)
        {
            Sample(decision.JoinWait, wait);
            if (post % 16 == 0)
            {
                Sample(decision.QueuedCost, handler);
                decision.Update(10_000 + post);
            }
        }
    }

    // A group that runs `handler` µs a message, promoted to its worker after plenty of work.
    RouteDecision Promoted(double handler)
    {
        var decision = new RouteDecision(InlinePolicy.Adaptive);
        RunInline(decision, handler, from: 0, messages: 10_000);
        Assert.AreEqual(GroupRoute.Hop, decision.Route, "setting up: the group should have been promoted");
        for (var i = 0; i < 8; i++)
        {
            Sample(decision.QueuedCost, handler);
            decision.Update(10_000);
        }
        Assert.AreEqual(GroupRoute.Hop, decision.Route);
        return decision;
    }
}
