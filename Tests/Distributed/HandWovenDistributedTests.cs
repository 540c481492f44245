using System.Text;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>
/// The hand-woven three-group program (source -> Parse, stateless -> Aggregate, stateful, with a source barrier before
/// the report) run through RabbitMQ, one host per group, against its in-memory run.
/// </summary>
[TestClass]
public sealed class HandWovenDistributedTests
{
    static Fixture HandWoven => Fixtures.Get("HandWoven");

    static ProcessResult InMemory(params string[] args) => ProcessRunner.RunDotnet(HandWoven.WovenDll, args);

    static void AssertSameRun(ProcessResult inMemory, DistributedResult distributed, int crashedHosts = 0)
    {
        Assert.IsFalse(string.IsNullOrWhiteSpace(inMemory.StandardOutput), $"the in-memory run printed nothing: {inMemory}");
        Assert.AreEqual(inMemory.ExitCode, distributed.ExitCode, $"exit codes differ.{Environment.NewLine}in memory: {inMemory}{Environment.NewLine}{distributed}");
        Assert.AreEqual(inMemory.StandardOutput, distributed.StandardOutput, $"stdout differs.{Environment.NewLine}{distributed}");
        foreach (var (group, host) in distributed.Hosts.Skip(crashedHosts))
            Assert.AreEqual(0, host.ExitCode, $"host of {group} did not stop cleanly on SIGTERM: {host}");
    }

    [TestMethod]
    public void One_host_per_group_prints_what_the_in_memory_run_prints()
    {
        var distributed = DistributedRun.Run(HandWoven);
        AssertSameRun(InMemory(), distributed);
        Assert.AreEqual(300, distributed.ProcessedBy("Parse").Single(), $"Parse ran every line once.{Environment.NewLine}{distributed}");
    }

    [TestMethod]
    public void Failed_handlers_are_dead_lettered_and_make_the_source_exit_non_zero()
    {
        string[] args = ["300", "4", "poison"];
        var inMemory = InMemory(args);
        Assert.AreNotEqual(0, inMemory.ExitCode, $"the poisoned run should fail in memory too: {inMemory}");

        List<(Dictionary<string, string?> Headers, byte[] Body)> dead = [];
        var distributed = DistributedRun.Run(HandWoven, args, new DistributedRunOptions
        {
            WhileSourceRuns = (layout, source) =>
            {
                source.WaitForExit(TimeSpan.FromMinutes(2));
                dead = Broker.TakeAllAsync(layout.Group("Aggregate").DeadQueue).GetAwaiter().GetResult();
            },
        });

        AssertSameRun(inMemory, distributed);
        Assert.AreEqual(6, dead.Count, $"one dead letter per poisoned word.{Environment.NewLine}{distributed}");
        foreach (var (headers, body) in dead)
        {
            Assert.AreEqual("OnWord", headers["type"]);
            StringAssert.Contains(headers["weaving-dead-reason"], "poisoned word");
            StringAssert.Contains(Encoding.UTF8.GetString(body), "poison");
        }
        var aggregateLog = distributed.Hosts.Single(h => h.Group == "Aggregate").Result.StandardError;
        StringAssert.Contains(aggregateLog, $"failed message {dead[0].Headers["message-id"]}", "the failure is logged with its stage and message id");
    }

    [TestMethod]
    public void Two_hosts_of_a_stateless_group_share_its_work()
    {
        var distributed = DistributedRun.Run(HandWoven, ["600"], new DistributedRunOptions
        {
            HostsPerGroup = new Dictionary<string, int> { ["Parse"] = 2 },
            // A small prefetch, so that neither host can take the whole queue at once.
            Environment = new Dictionary<string, string> { ["Weaving__Prefetch"] = "8" },
        });

        AssertSameRun(InMemory("600"), distributed);
        var processed = distributed.ProcessedBy("Parse");
        Assert.AreEqual(600, processed.Sum(), $"every line ran exactly once.{Environment.NewLine}{distributed}");
        Assert.IsTrue(processed.All(n => n > 0), $"both hosts took work: {string.Join(", ", processed)}.{Environment.NewLine}{distributed}");
    }

    [TestMethod]
    public void A_second_host_of_a_stateful_group_waits_as_a_standby()
    {
        var distributed = DistributedRun.Run(HandWoven, options: new DistributedRunOptions
        {
            HostsPerGroup = new Dictionary<string, int> { ["Aggregate"] = 2 },
        });

        AssertSameRun(InMemory(), distributed);
        var processed = distributed.ProcessedBy("Aggregate");
        Assert.AreEqual(2, processed.Count);
        Assert.IsTrue(processed[0] > 0, $"the first host is the active consumer.{Environment.NewLine}{distributed}");
        Assert.AreEqual(0, processed[1], $"the second host only waits.{Environment.NewLine}{distributed}");
    }

    [TestMethod]
    public void Garbage_on_a_queue_is_dead_lettered_with_a_reason_and_the_run_goes_on()
    {
        List<(Dictionary<string, string?> Headers, byte[] Body)> dead = [];
        var distributed = DistributedRun.Run(HandWoven, options: new DistributedRunOptions
        {
            BeforeSource = layout =>
            {
                var parse = layout.Group("Parse").Queue;
                Broker.PublishRawAsync(parse, [0xde, 0xad, 0xbe, 0xef]).GetAwaiter().GetResult();
                Broker.PublishRawAsync(parse, Encoding.UTF8.GetBytes("{\"line\":\"from another build\"}"),
                    Broker.StageMessage("OnLine", "0123456789abcdef0123456789abcdef", "some-other-build")).GetAwaiter().GetResult();
                Broker.PublishRawAsync(parse, Encoding.UTF8.GetBytes("not json"),
                    Broker.StageMessage("OnLine", "fedcba9876543210fedcba9876543210", "handwoven-0001")).GetAwaiter().GetResult();
            },
            WhileSourceRuns = (layout, source) =>
            {
                source.WaitForExit(TimeSpan.FromMinutes(2));
                dead = Broker.TakeAllAsync(layout.Group("Parse").DeadQueue).GetAwaiter().GetResult();
            },
        });

        AssertSameRun(InMemory(), distributed);
        Assert.AreEqual(3, dead.Count, $"three bad messages dead-lettered.{Environment.NewLine}{distributed}");
        var reasons = dead.Select(d => d.Headers.GetValueOrDefault("weaving-dead-reason") ?? "(no reason)").ToArray();
        StringAssert.Contains(reasons[0], "not a message of a woven program");
        StringAssert.Contains(reasons[1], "build some-other-build");
        StringAssert.Contains(reasons[2], "undecodable body");
        CollectionAssert.AreEqual(new byte[] { 0xde, 0xad, 0xbe, 0xef }, dead[0].Body, "the dead letter keeps the original bytes");
        var parseLog = distributed.Hosts.Single(h => h.Group == "Parse").Result.StandardError;
        StringAssert.Contains(parseLog, "message 0123456789abcdef0123456789abcdef dead-lettered", "the log line names the message id");
    }

    [TestMethod]
    public void Killing_a_host_of_a_stateless_group_mid_run_and_starting_another_loses_no_event()
    {
        string[] args = ["6000"];
        var distributed = DistributedRun.Run(HandWoven, args, new DistributedRunOptions
        {
            HostsPerGroup = new Dictionary<string, int> { ["Parse"] = 2 },
            WhileSourceRuns = (layout, source) =>
            {
                source.WaitForLog("Source: publishing", TimeSpan.FromMinutes(1));
                Thread.Sleep(200);
                Assert.IsFalse(source.HasExited, "the run ended before the crash, so it proves nothing: give it more lines");
                var victim = layout.HostsOf("Parse").First();
                victim.Crash();
                // As a supervisor would: a new host for the group. Its unacknowledged messages are redelivered to the
                // hosts left, and the ids of what they send again let Aggregate and the source recognise the repeats.
                layout.StartHost("Parse");
            },
        });

        // The victim was started first, so it is the first host listed; it was killed, the others stop cleanly.
        Assert.AreNotEqual(0, distributed.Hosts[0].Result.ExitCode, "the first Parse host was killed");
        AssertSameRun(InMemory(args), distributed, crashedHosts: 1);
    }

    [TestMethod]
    public void A_host_stopped_by_SIGTERM_mid_run_finishes_its_messages_and_nothing_runs_twice()
    {
        string[] args = ["6000"];
        var distributed = DistributedRun.Run(HandWoven, args, new DistributedRunOptions
        {
            HostsPerGroup = new Dictionary<string, int> { ["Parse"] = 2 },
            WhileSourceRuns = (layout, source) =>
            {
                source.WaitForLog("Source: publishing", TimeSpan.FromMinutes(1));
                Thread.Sleep(200);
                Assert.IsFalse(source.HasExited, "the run ended before the stop, so it proves nothing: give it more lines");
                var stopped = layout.HostsOf("Parse").First().Terminate(TimeSpan.FromSeconds(30));
                Assert.AreEqual(0, stopped.ExitCode, $"a host stops cleanly on SIGTERM: {stopped}");
            },
        });

        AssertSameRun(InMemory(args), distributed);
        Assert.AreEqual(6000, distributed.ProcessedBy("Parse").Sum(), $"every line ran once, on one host or the other.{Environment.NewLine}{distributed}");
        Assert.AreEqual(0, distributed.DuplicatesSkippedBy("Aggregate").Single(), $"a graceful stop leaves nothing to redeliver that had run.{Environment.NewLine}{distributed}");
    }
}
