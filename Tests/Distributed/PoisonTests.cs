using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>
/// Hostile messages, published by the test itself to a real broker, that once took a group down: a reply-to header no
/// queue can be named, headers nested so deep that the client's parser overflows the stack, a queue of bodies over the
/// size limit, a fan-out built from one message, a handler that never returns. Each is dead-lettered or abandoned within
/// a bound, and a run beside it prints exactly what the program prints unwoven.
/// </summary>
[TestClass]
public sealed class PoisonTests
{
    static Fixture Reliable => Fixtures.Get("Reliable");
    static Fixture WordCount => Fixtures.Get("WordCount");

    static string BuildHash(Fixture fixture)
    {
        using var map = JsonDocument.Parse(File.ReadAllText(fixture.StageMapJson));
        return map.RootElement.GetProperty("buildHash").GetString()!;
    }

    static BasicProperties Headers(string stage, string id, string build) => Broker.StageMessage(stage, id, build);

    static byte[] OnEventBody(int id, int work = 0) =>
        Encoding.UTF8.GetBytes($"{{\"id\":{id},\"payload\":\"\",\"fail\":false,\"work\":{work}}}");

    static void AssertSameAsUnwoven(Fixture fixture, string[] args, DistributedResult distributed)
    {
        var unwoven = ProcessRunner.RunDotnet(fixture.UnwovenDll, args);
        Assert.AreEqual(unwoven.ExitCode, distributed.ExitCode, $"exit codes differ.{Environment.NewLine}{distributed}");
        Assert.AreEqual(unwoven.StandardOutput, distributed.StandardOutput, $"stdout differs.{Environment.NewLine}{distributed}");
    }

    [TestMethod]
    public void A_reply_to_no_source_queue_is_named_by_and_a_stage_type_with_a_newline_are_dead_lettered_with_one_line_reasons()
    {
        string[] args = ["300"];
        var build = BuildHash(Reliable);
        const string longReplyId = "00000000000000020000000000000001";
        const string newlineStageId = "00000000000000020000000000000002";
        List<(Dictionary<string, string?> Headers, byte[] Body)> dead = [];
        var distributed = DistributedRun.Run(Reliable, args, new DistributedRunOptions
        {
            Timeout = TimeSpan.FromMinutes(1),
            BeforeSource = layout =>
            {
                var queue = layout.GroupOf("OnEvent").Queue;
                var longReply = Headers("OnEvent", longReplyId, build);
                // The most a reply-to (an AMQP short string) can hold, and no queue a source makes: a line break in it.
                longReply.ReplyTo = "weaving.Reliable.source.\n" + new string('a', 230);
                Broker.PublishRawAsync(queue, OnEventBody(1), longReply).GetAwaiter().GetResult();
                Broker.PublishRawAsync(queue, OnEventBody(2), Headers("OnEvent\nOnResult", newlineStageId, build)).GetAwaiter().GetResult();
            },
            WhileSourceRuns = (layout, source) =>
            {
                source.WaitForExit(TimeSpan.FromMinutes(1));
                dead = Broker.TakeAllAsync(layout.GroupOf("OnEvent").DeadQueue).GetAwaiter().GetResult();
            },
        });

        AssertSameAsUnwoven(Reliable, args, distributed);
        Assert.AreEqual(2, dead.Count, $"both dead-lettered.{Environment.NewLine}{distributed}");
        var reasons = dead.ToDictionary(d => d.Headers["message-id"]!, d => d.Headers.GetValueOrDefault("weaving-dead-reason") ?? "(no reason)");
        StringAssert.Contains(reasons[longReplyId], "reply-to");
        StringAssert.Contains(reasons[newlineStageId], "has no stage");
        foreach (var reason in reasons.Values)
            Assert.IsFalse(reason.Contains('\n') || reason.Contains('\r'), $"a reason is one line: {reason}");
        foreach (var (_, result) in distributed.Hosts)
            Assert.AreEqual(0, result.ExitCode, $"no host died.{Environment.NewLine}{distributed}");
    }

    [TestMethod]
    public void A_message_whose_headers_crash_every_consumer_is_dead_lettered_by_the_broker_after_the_delivery_limit()
    {
        string[] args = ["300"];
        const int deliveryLimit = 2;
        var crashes = 0;
        long deadLetters = -1;
        var distributed = DistributedRun.Run(Reliable, args, new DistributedRunOptions
        {
            Environment = new Dictionary<string, string>
            {
                ["Weaving__DeliveryLimit"] = deliveryLimit.ToString(),
                // The host is precompiled (ReadyToRun): the client's optimised frames parse this header within a thread's
                // stack, where the JIT's first, larger ones overflowed it (and a deeper header does not fit in a frame).
                // Run without the precompiled code, the header kills the process again: what is tested is what the broker
                // does with a message that kills every consumer, however it kills them.
                ["DOTNET_ReadyToRun"] = "0",
            },
            Timeout = TimeSpan.FromMinutes(1),
            BeforeSource = layout =>
            {
                var group = layout.GroupOf("OnEvent");
                PublishNestedHeader(group.Queue, depth: 20_000);
                // As a supervisor would: start the host again each time it dies, a bounded number of times.
                var host = layout.HostsOf(group.Name).Single();
                for (var restarts = 0; restarts <= deliveryLimit + 2; restarts++)
                {
                    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
                    while (!host.HasExited && QueueLength(group.DeadQueue) == 0 && DateTime.UtcNow < deadline) Thread.Sleep(100);
                    if (!host.HasExited) break;
                    crashes++;
                    host = layout.StartHost(group.Name);
                    host.WaitForLog($"consuming {group.Queue}", TimeSpan.FromSeconds(60));
                }
                deadLetters = QueueLength(group.DeadQueue);
            },
        });

        Assert.AreEqual(1L, deadLetters, $"the broker dead-lettered the message ({crashes} crash(es)).{Environment.NewLine}{distributed}");
        Assert.IsTrue(crashes is >= 1 and <= deliveryLimit + 1, $"{crashes} crash(es): at most one per delivery.{Environment.NewLine}{distributed}");
        AssertSameAsUnwoven(Reliable, args, distributed);
        StringAssert.Contains(distributed.Hosts[0].Result.StandardError, $"delivery limit {deliveryLimit}",
            $"a host says at start what protects it.{Environment.NewLine}{distributed}");
    }

    [TestMethod]
    public void A_hundred_messages_of_17_MiB_waiting_in_the_queue_keep_the_host_within_its_byte_budget()
    {
        string[] args = ["300"];
        // One delivery of up to 32 MiB at a time, and the reserve (see DeliveryWindow).
        const int budget = 128 << 20;
        const int count = 100;
        long peak = 0, before = 0, rejected = 0;
        string stateless = "";
        var distributed = DistributedRun.Run(Reliable, args, new DistributedRunOptions
        {
            Environment = new Dictionary<string, string> { ["Weaving__MaxHeldBytes"] = budget.ToString() },
            Timeout = TimeSpan.FromMinutes(1),
            BeforeSource = layout =>
            {
                var group = layout.GroupOf("OnEvent");
                stateless = group.Name;
                // Queued while no host consumes: then a host takes them, as many at a time as the broker gives it.
                var idle = layout.HostsOf(group.Name).Single();
                before = idle.ResidentBytes;
                idle.Terminate(TimeSpan.FromSeconds(60));
                PublishOversize(group.Queue, count, 17 << 20, BuildHash(Reliable));
                var host = layout.StartHost(group.Name);
                host.WaitForLog($"consuming {group.Queue}", TimeSpan.FromSeconds(60));
                // 1.7 GB through a quorum queue takes the broker a minute on a quiet machine and more on a busy one:
                // waited for while it progresses, given up after a minute without one more dead letter.
                rejected = 0;
                var stalledSince = DateTime.UtcNow;
                while (rejected < count && DateTime.UtcNow - stalledSince < TimeSpan.FromSeconds(60))
                {
                    Thread.Sleep(200);
                    var now = QueueLength(group.DeadQueue);
                    if (now > rejected) (rejected, stalledSince) = (now, DateTime.UtcNow);
                }
                peak = layout.HostsOf(group.Name).Last().PeakResidentBytes;
                Broker.DeleteQueuesAsync([group.DeadQueue]).GetAwaiter().GetResult();
            },
        });

        Assert.AreEqual((long)count, rejected, $"every oversize message dead-lettered.{Environment.NewLine}{distributed}");
        AssertSameAsUnwoven(Reliable, args, distributed);
        var grown = peak - before;
        Console.WriteLine($"host resident: {before >> 20} MiB before, peak {peak >> 20} MiB ({grown >> 20} MiB more), budget {budget >> 20} MiB");
        Assert.IsTrue(grown <= budget, $"the host grew by {grown >> 20} MiB, over its budget of {budget >> 20} MiB.{Environment.NewLine}{distributed}");
    }

    [TestMethod]
    public void A_line_of_350000_words_fans_out_under_a_small_heap_limit_and_counts_the_same()
    {
        var file = Path.Combine(Path.GetTempPath(), $"weaving-fanout-{Guid.NewGuid():N}.txt");
        string[] vocabulary = ["pipeline", "stage", "event", "loop", "handler", "message", "state", "worker", "queue", "broker"];
        var random = new Random(7);
        File.WriteAllText(file, string.Join(' ', Enumerable.Range(0, 350_000).Select(_ => vocabulary[random.Next(vocabulary.Length)])) + "\n");
        try
        {
            string[] args = [file];
            var distributed = DistributedRun.Run(WordCount, args, new DistributedRunOptions
            {
                // Today's 460 MiB for this line does not fit; the published batches do.
                Environment = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = (160 << 20).ToString("x") },
                Timeout = TimeSpan.FromMinutes(2),
            });
            AssertSameAsUnwoven(WordCount, args, distributed);
            foreach (var (group, result) in distributed.Hosts)
                Assert.AreEqual(0, result.ExitCode, $"host {group} did not stop cleanly.{Environment.NewLine}{distributed}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [TestMethod]
    public void SIGTERM_abandons_a_handler_that_never_returns_after_the_shutdown_timeout_and_its_message_is_delivered_again()
    {
        var layout = DistributedRun.Layout(Reliable.WovenDll)!;
        Broker.DeleteQueuesAsync(layout.AllQueues).GetAwaiter().GetResult();
        var group = layout.GroupOf("OnEvent");
        const string id = "00000000000000030000000000000001";
        using var host = HostProcess.Start(group.Name, ["--app", Reliable.WovenDll, "--stage", group.Name], output: null,
            new Dictionary<string, string> { ["Weaving__ShutdownTimeout"] = "00:00:03" });
        host.WaitForLog($"consuming {group.Queue}", TimeSpan.FromSeconds(60));
        // work=int.MaxValue: OnEvent's loop never ends.
        Broker.PublishRawAsync(group.Queue, OnEventBody(1, int.MaxValue), Headers("OnEvent", id, BuildHash(Reliable))).GetAwaiter().GetResult();
        Thread.Sleep(1000);
        Assert.IsFalse(host.HasExited, host.StandardErrorSoFar);

        var stopped = host.Terminate(TimeSpan.FromSeconds(30));

        Assert.AreEqual(4, stopped.ExitCode, $"the exit code says a handler was abandoned: {stopped}");
        StringAssert.Contains(stopped.StandardError, $"message {id}", "the log names the abandoned message");
        StringAssert.Contains(stopped.StandardError, "abandoned");
        var back = Broker.PeekAsync(group.Queue).GetAwaiter().GetResult();
        Assert.AreEqual(id, back?.GetValueOrDefault("message-id"), "not acknowledged: it is in the queue again");
        Broker.DeleteQueuesAsync(layout.AllQueues).GetAwaiter().GetResult();
    }

    [TestMethod]
    public void A_dead_letter_queue_declared_by_hand_with_other_settings_stops_the_host_with_the_command_that_fixes_it()
    {
        var layout = DistributedRun.Layout(Reliable.WovenDll)!;
        Broker.DeleteQueuesAsync(layout.AllQueues).GetAwaiter().GetResult();
        var group = layout.GroupOf("OnEvent");
        using (var connection = Broker.ConnectAsync().GetAwaiter().GetResult())
        using (var channel = connection.CreateChannelAsync().GetAwaiter().GetResult())
            channel.QueueDeclareAsync(group.DeadQueue, durable: false, exclusive: false, autoDelete: false).GetAwaiter().GetResult();
        try
        {
            using var host = HostProcess.Start(group.Name, ["--app", Reliable.WovenDll, "--stage", group.Name], output: null);
            var result = host.WaitForExit(TimeSpan.FromSeconds(60));
            Assert.AreNotEqual(0, result.ExitCode, result.ToString());
            var vhost = Broker.Vhost ?? "/";
            StringAssert.Contains(result.StandardError, $"queue {group.DeadQueue} exists with other settings");
            StringAssert.Contains(result.StandardError, $"rabbitmqctl delete_queue -p {vhost} {group.DeadQueue}");
        }
        finally
        {
            Broker.DeleteQueuesAsync(layout.AllQueues).GetAwaiter().GetResult();
        }
    }

    /// <summary>Messages in <paramref name="queue"/>, as the broker counts them (read without consuming any).</summary>
    static long QueueLength(string queue)
    {
        var list = Broker.Rabbitmqctl("list_queues", "-p", Broker.Vhost ?? "/", "name", "messages");
        Assert.AreEqual(0, list.ExitCode, list.ToString());
        foreach (var line in list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split('\t');
            if (fields.Length == 2 && fields[0] == queue) return long.Parse(fields[1]);
        }
        return 0;
    }

    /// <summary>
    /// A message with one header nested <paramref name="depth"/> arrays deep. Written on a thread with a large stack: the
    /// client writes tables recursively too.
    /// </summary>
    static void PublishNestedHeader(string queue, int depth)
    {
        Exception? failed = null;
        var thread = new Thread(() =>
        {
            try
            {
                // Arrays of one array: 5 bytes a level, so 20,000 levels are about 100 KB, under the broker's frame size.
                object? nested = "bottom";
                for (var i = 0; i < depth; i++) nested = new List<object?> { nested };
                using var connection = Broker.ConnectAsync().GetAwaiter().GetResult();
                using var channel = connection.CreateChannelAsync(new CreateChannelOptions(true, true)).GetAwaiter().GetResult();
                var properties = new BasicProperties { Headers = new Dictionary<string, object?> { ["deep"] = nested } };
                channel.BasicPublishAsync("", queue, mandatory: true, properties, Encoding.UTF8.GetBytes("{}")).AsTask().GetAwaiter().GetResult();
                channel.CloseAsync().GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                failed = e;
            }
        }, maxStackSize: 512 << 20);
        thread.Start();
        thread.Join();
        if (failed is not null) throw new AssertFailedException($"publishing the nested header failed: {failed}");
    }

    /// <summary><paramref name="count"/> messages of <paramref name="size"/> bytes, one buffer reused, confirmed.</summary>
    static void PublishOversize(string queue, int count, int size, string build)
    {
        var body = new byte[size];
        Array.Fill(body, (byte)'x');
        using var connection = Broker.ConnectAsync().GetAwaiter().GetResult();
        using var channel = connection.CreateChannelAsync(new CreateChannelOptions(true, true)).GetAwaiter().GetResult();
        for (var i = 0; i < count; i++)
        {
            var properties = Headers("OnEvent", $"0000000000000004{i:x16}", build);
            channel.BasicPublishAsync("", queue, mandatory: true, properties, body).AsTask().GetAwaiter().GetResult();
        }
    }
}
