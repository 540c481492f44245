using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>
/// Bad input in a real run: messages a host must not run, a handler that throws, posts over the size limit. Each is
/// dead-lettered or failed with a reason, logged with its message id, counted in the source's exit code, and nothing else
/// is lost.
/// </summary>
[TestClass]
public sealed partial class BadInputTests
{
    const int Limit = 64 * 1024;

    static Fixture Reliable => Fixtures.Get("Reliable");

    static string BuildHash(Fixture fixture)
    {
        using var map = JsonDocument.Parse(File.ReadAllText(fixture.StageMapJson));
        return map.RootElement.GetProperty("buildHash").GetString()!;
    }

    [TestMethod]
    public void Garbage_another_stage_another_build_and_an_oversize_message_are_each_dead_lettered_with_its_reason_and_the_host_goes_on()
    {
        string[] args = ["500"];
        var build = BuildHash(Reliable);
        const string garbageId = "garbage-0001";
        const string otherStageId = "0123456789abcdef0123456789abcdef";
        const string otherBuildId = "fedcba9876543210fedcba9876543210";
        const string oversizeId = "00000000000000010000000000000001";
        List<(Dictionary<string, string?> Headers, byte[] Body)> dead = [];
        string stateless = "";
        var distributed = DistributedRun.Run(Reliable, args, new DistributedRunOptions
        {
            Environment = new Dictionary<string, string> { ["Weaving__MaxMessageBytes"] = Limit.ToString() },
            BeforeSource = layout =>
            {
                stateless = layout.GroupOf("OnEvent").Name;
                var queue = layout.GroupOf("OnEvent").Queue;
                Broker.PublishRawAsync(queue, [0xde, 0xad, 0xbe, 0xef], messageId: garbageId).GetAwaiter().GetResult();
                Broker.PublishRawAsync(queue, Encoding.UTF8.GetBytes("{\"id\":1,\"value\":2,\"payload\":\"\"}"), Headers("OnResult", otherStageId, build))
                    .GetAwaiter().GetResult();
                Broker.PublishRawAsync(queue, Encoding.UTF8.GetBytes("{\"id\":1,\"payload\":\"\",\"fail\":false,\"work\":0}"), Headers("OnEvent", otherBuildId, "some-other-build"))
                    .GetAwaiter().GetResult();
                var oversize = Encoding.UTF8.GetBytes($"{{\"id\":1,\"payload\":\"{new string('x', 2 * Limit)}\",\"fail\":false,\"work\":0}}");
                Broker.PublishRawAsync(queue, oversize, Headers("OnEvent", oversizeId, build)).GetAwaiter().GetResult();
            },
            WhileSourceRuns = (layout, source) =>
            {
                source.WaitForExit(TimeSpan.FromMinutes(2));
                dead = Broker.TakeAllAsync(layout.GroupOf("OnEvent").DeadQueue).GetAwaiter().GetResult();
            },
        });

        var unwoven = ProcessRunner.RunDotnet(Reliable.UnwovenDll, args);
        Assert.AreEqual(unwoven.ExitCode, distributed.ExitCode, $"the bad messages are not the run's: it succeeds.{Environment.NewLine}{distributed}");
        Assert.AreEqual(unwoven.StandardOutput, distributed.StandardOutput, $"the host went on.{Environment.NewLine}{distributed}");
        Assert.AreEqual(4, dead.Count, $"four bad messages dead-lettered.{Environment.NewLine}{distributed}");
        string[] expected =
        [
            "not a message of a woven program",
            $"stage OnResult belongs to group {distributed.Hosts.Single(h => h.Group != stateless).Group}, not {stateless}",
            "message of build some-other-build",
        ];
        for (var i = 0; i < expected.Length; i++)
        {
            StringAssert.Contains(dead[i].Headers.GetValueOrDefault("weaving-dead-reason") ?? "(no reason)", expected[i]);
            Assert.AreEqual(stateless, dead[i].Headers["weaving-dead-group"]);
        }
        CollectionAssert.AreEqual(new byte[] { 0xde, 0xad, 0xbe, 0xef }, dead[0].Body, "a dead letter keeps the original bytes");
        // The oversize body is never copied by the host: rejected, the broker moves it whole; the log says why.
        Assert.AreEqual(oversizeId, dead[3].Headers["message-id"]);
        Assert.AreEqual("rejected", dead[3].Headers.GetValueOrDefault("x-first-death-reason"));
        Assert.IsTrue(dead[3].Body.Length > 2 * Limit, "the dead letter keeps the whole body");
        var log = distributed.Hosts.Single(h => h.Group == stateless).Result.StandardError;
        foreach (var id in new[] { garbageId, otherStageId, otherBuildId, oversizeId })
            StringAssert.Contains(log, $"message {id} dead-lettered", "a log line names the message id");
        StringAssert.Contains(log, $"message {oversizeId} dead-lettered to weaving.Reliable.{stateless}.dead: message of ");
        StringAssert.Contains(log, $"over the limit of {Limit} bytes");
    }

    [TestMethod]
    public void A_handler_that_throws_is_retried_as_configured_then_dead_lettered_with_its_exception_and_the_exit_code_reports_it()
    {
        string[] args = ["500", "fail=13"];
        var inMemory = ProcessRunner.RunDotnet(Reliable.WovenDll, args);
        List<(Dictionary<string, string?> Headers, byte[] Body)> dead = [];
        string stateless = "";
        var distributed = DistributedRun.Run(Reliable, args, new DistributedRunOptions
        {
            Environment = new Dictionary<string, string> { ["Weaving__Retries"] = "3" },
            WhileSourceRuns = (layout, source) =>
            {
                stateless = layout.GroupOf("OnEvent").Name;
                source.WaitForExit(TimeSpan.FromMinutes(2));
                dead = Broker.TakeAllAsync(layout.GroupOf("OnEvent").DeadQueue).GetAwaiter().GetResult();
            },
        });

        // The other events went through: the output is the in-memory run's, which fails the same message.
        StringAssert.Contains(inMemory.StandardOutput, "499 events");
        Assert.AreEqual(inMemory.StandardOutput, distributed.StandardOutput, distributed.ToString());
        Assert.AreEqual(1, distributed.ExitCode, distributed.ToString());
        StringAssert.Contains(distributed.Source.StandardError, "weaving: 1 message(s) failed");

        var letter = dead.Single().Headers;
        Assert.AreEqual("OnEvent", letter["type"]);
        Assert.AreEqual("System.InvalidOperationException", letter["weaving-exception-type"]);
        Assert.AreEqual("event 13 is poisoned", letter["weaving-exception-message"]);
        Assert.AreEqual("4", letter["weaving-attempts"], "the first run and three retries");
        StringAssert.Contains(letter["weaving-exception"], "at Program.OnEvent(");
        StringAssert.Contains(letter["weaving-dead-reason"], "handler threw System.InvalidOperationException: event 13 is poisoned");

        var id = letter["message-id"];
        var log = distributed.Hosts.Single(h => h.Group == stateless).Result.StandardError;
        for (var retry = 1; retry <= 3; retry++)
            StringAssert.Contains(log, $"message {id} threw System.InvalidOperationException: event 13 is poisoned; running it again ({retry} of 3)");
        StringAssert.Contains(log, $"failed message {id} after 4 attempt(s)");
    }

    [TestMethod]
    public void A_post_over_the_size_limit_fails_clearly_whether_the_source_or_a_handler_sends_it()
    {
        // Event 5 is over the limit when the source sends it; event 7 is under, but OnEvent doubles it on its way on.
        string[] args = ["300", $"big=5:{2 * Limit}", $"big=7:{Limit * 3 / 4}"];
        string stateless = "";
        var distributed = DistributedRun.Run(Reliable, args, new DistributedRunOptions
        {
            Environment = new Dictionary<string, string> { ["Weaving__MaxMessageBytes"] = Limit.ToString() },
            BeforeSource = layout => stateless = layout.GroupOf("OnEvent").Name,
        });

        Assert.AreEqual(1, distributed.ExitCode, distributed.ToString());
        StringAssert.Contains(distributed.StandardOutput, "298 events", "the other events went through");
        StringAssert.Contains(distributed.Source.StandardError, "weaving: 2 message(s) failed");
        Assert.IsTrue(SourceOversize().IsMatch(distributed.Source.StandardError), $"the source names the message and its size.{Environment.NewLine}{distributed}");
        var handler = distributed.Hosts.Single(h => h.Group == stateless).Result.StandardError;
        Assert.IsTrue(HandlerOversize().IsMatch(handler), $"the host names the message, the post and its size.{Environment.NewLine}{distributed}");
    }

    [GeneratedRegex(@"Source: message [0-9a-f]{32} to stage OnEvent is \d+ bytes, over the limit of 65536 bytes \(Weaving:MaxMessageBytes\); not sent")]
    private static partial Regex SourceOversize();

    [GeneratedRegex(@"Stage OnEvent message [0-9a-f]{32}: its post to OnResult \([0-9a-f]{32}\) is \d+ bytes, over the limit of 65536 bytes \(Weaving:MaxMessageBytes\); not sent")]
    private static partial Regex HandlerOversize();

    static RabbitMQ.Client.BasicProperties Headers(string stage, string id, string build) => Broker.StageMessage(stage, id, build);

    [TestMethod]
    public void State_the_codec_cannot_send_back_to_the_source_fails_the_run_saying_why_instead_of_waiting_for_ever()
    {
        // ComparerState's group holds a dictionary made with a comparer of its own; Main reads it after its feed. In
        // memory it prints what it prints unwoven; across processes the host cannot write it back.
        var fixture = Fixtures.Get("ComparerState");
        var unwoven = ProcessRunner.RunDotnet(fixture.UnwovenDll);
        var inMemory = ProcessRunner.RunDotnet(fixture.WovenDll);
        Assert.AreEqual(unwoven.StandardOutput, inMemory.StandardOutput, inMemory.ToString());

        var distributed = DistributedRun.Run(fixture, options: new DistributedRunOptions { Timeout = TimeSpan.FromMinutes(1) });
        Assert.AreNotEqual(0, distributed.ExitCode, $"the source cannot print the state it could not read.{Environment.NewLine}{distributed}");
        StringAssert.Contains(distributed.Source.StandardError, "cannot be sent back to the source", distributed.ToString());
        StringAssert.Contains(distributed.Source.StandardError, "OrdinalIgnoreCase", distributed.ToString());
        Assert.IsTrue(distributed.Hosts.All(h => !h.Result.StandardError.Contains("crit:", StringComparison.Ordinal)),
            $"a host stopped on it.{Environment.NewLine}{distributed}");
    }
}
