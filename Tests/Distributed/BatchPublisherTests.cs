using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using Weaving.Host;
using Weaving.Host.Consuming;
using Weaving.Host.Drain;
using Weaving.Host.Messaging;

namespace Weaving.Tests.Distributed;

/// <summary>
/// The order a group host publishes, waits for confirms and settles in (<see cref="BatchPublisher"/>), read from a session
/// that writes down what it is asked to do: a completion is reported only once what it announces is confirmed, a delivery
/// acknowledged only once its report is.
/// </summary>
[TestClass]
public sealed class BatchPublisherTests
{
    static WovenApp App => HandWovenApp.App;
    static string Run => HandWovenApp.Run;
    const string Output = "weaving.HandWoven.Next";

    /// <summary>What the publisher did, in order: "publish queue id", "wait", "reject tag", "ack tag".</summary>
    sealed class RecordingSession : IBatchSession
    {
        public List<string> Log { get; } = [];
        public int Epoch => 1;

        public ValueTask PublishAsync(Outbound message)
        {
            if (message.Queue == Run)
                foreach (var completion in DrainReport.Decode(message.Body.Span))
                    Log.Add($"report {completion.Id.Low}");
            else
                Log.Add($"publish {message.Properties.MessageId}");
            return ValueTask.CompletedTask;
        }

        public Task WhenAllConfirmedAsync()
        {
            Log.Add("wait");
            return Task.CompletedTask;
        }

        public ValueTask RejectAsync(ulong deliveryTag)
        {
            Log.Add($"reject {deliveryTag}");
            return ValueTask.CompletedTask;
        }

        public ValueTask AcknowledgeUpToAsync(ulong deliveryTag)
        {
            Log.Add($"ack {deliveryTag}");
            return ValueTask.CompletedTask;
        }
    }

    static (BatchPublisher Publisher, GroupCounters Counters, ServiceProvider Services) NewPublisher()
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var counters = new GroupCounters("Next", new HostMetrics(services.GetRequiredService<IMeterFactory>()));
        return (new BatchPublisher(new OutgoingEncoder(App, 1 << 20, NullLogger.Instance), null, counters), counters, services);
    }

    // Delivery `tag` ran, sent one message (its id `tag`), and reports its completion (its id `tag` too).
    static FinishedDelivery Ran(ulong tag) => new(tag, epoch: 1, Run, ran: true)
    {
        Messages = [new Outbound(Output, new BasicProperties { MessageId = $"{tag}" }, new byte[] { 1 }, Mandatory: true)],
        Completion = new Completion(new MessageId(0, tag), 0, [new MessageId(1, tag)]),
    };

    // Each delivery's report follows a wait that followed its publish; its acknowledgement (multiple: the first ack of a tag
    // at least its own) follows a wait that followed its report.
    static void AssertSafe(List<string> log, IEnumerable<ulong> tags)
    {
        foreach (var tag in tags)
        {
            var published = log.IndexOf($"publish {tag}");
            var reported = log.IndexOf($"report {tag}");
            var acknowledged = log.FindIndex(e => e.StartsWith("ack ", StringComparison.Ordinal) && ulong.Parse(e[4..]) >= tag);
            Assert.IsTrue(published >= 0 && reported > published && acknowledged > reported, $"delivery {tag}: {string.Join(", ", log)}");
            Assert.IsTrue(log.IndexOf("wait", published) < reported, $"delivery {tag} reported before its message was confirmed: {string.Join(", ", log)}");
            Assert.IsTrue(log.IndexOf("wait", reported) < acknowledged, $"delivery {tag} acknowledged before its report was confirmed: {string.Join(", ", log)}");
        }
    }

    [TestMethod]
    public async Task A_batch_published_whole_waits_twice_and_settles_after_both()
    {
        var (publisher, counters, services) = NewPublisher();
        using var _ = services;
        var session = new RecordingSession();

        await publisher.PublishAsync(session, [Ran(1), Ran(2)]);

        CollectionAssert.AreEqual(new[] { "publish 1", "publish 2", "wait", "report 1", "report 2", "wait", "ack 2" }, session.Log);
        AssertSafe(session.Log, [1, 2]);
        Assert.AreEqual(2, counters.Processed);
    }

    [TestMethod]
    public async Task A_rejected_delivery_is_rejected_not_acknowledged_and_one_of_another_session_is_not_settled()
    {
        var (publisher, counters, services) = NewPublisher();
        using var _ = services;
        var session = new RecordingSession();
        var rejected = new FinishedDelivery(2, epoch: 1, Run, ran: false) { Settlement = Settlement.Reject };
        var earlier = new FinishedDelivery(9, epoch: 0, Run, ran: true);

        await publisher.PublishAsync(session, [earlier, Ran(1), rejected, Ran(3)]);

        CollectionAssert.AreEqual(new[] { "publish 1", "publish 3", "wait", "report 1", "report 3", "wait", "reject 2", "ack 3" }, session.Log);
        AssertSafe(session.Log, [1, 3]);
        Assert.AreEqual(3, counters.Processed, "what ran, in this session or the one before");
        Assert.AreEqual(-4, counters.InFlight, "all four counted out of flight (the consumer counts them in)");
    }
}
