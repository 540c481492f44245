using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Weaving.Host;
using Weaving.Host.Consuming;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>The host is observable as a .NET service: its meter and spans, its progress log, OTLP export from configuration.</summary>
[TestClass]
public sealed class TelemetryTests
{
    [TestMethod]
    public void A_MeterListener_reads_the_consumers_counters_tagged_with_their_group()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new HostMetrics(services.GetRequiredService<IMeterFactory>());
        var seen = new List<(string Instrument, long Value, string? Group)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == HostMetrics.Name) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? group = null;
            foreach (var tag in tags)
                if (tag.Key == "weaving.group") group = tag.Value as string;
            lock (seen) seen.Add((instrument.Name, value, group));
        });
        listener.Start();

        var counters = new GroupCounters("Aggregate", metrics);
        counters.Took();
        counters.Took();
        counters.AddProcessed(2);
        counters.AddFailed(1);
        counters.AddDeadLettered(1);
        counters.AddDuplicate();
        counters.Settled(2);

        CollectionAssert.AreEqual(new[]
        {
            ("weaving.messages.in_flight", 1L, "Aggregate"),
            ("weaving.messages.in_flight", 1L, "Aggregate"),
            ("weaving.messages.processed", 2L, "Aggregate"),
            ("weaving.messages.failed", 1L, "Aggregate"),
            ("weaving.messages.dead_lettered", 1L, "Aggregate"),
            ("weaving.messages.duplicates", 1L, "Aggregate"),
            ("weaving.messages.in_flight", -2L, "Aggregate"),
        }, seen.ToArray());
        Assert.AreEqual(0, counters.InFlight);
    }

    [TestMethod]
    public void A_publish_span_carries_the_trace_on_so_that_every_stage_of_one_event_is_in_one_trace()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == HostMetrics.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        // The source publishes to OnLine; OnLine's host runs it (the consumer span, from the message's traceparent) and
        // publishes to OnWord.
        string sourceTraceParent;
        using (var sourcePublish = HostMetrics.StartPublish("OnLine"))
            sourceTraceParent = sourcePublish!.Id!;
        Assert.IsTrue(ActivityContext.TryParse(sourceTraceParent, null, out var received));
        string consumerTraceParent;
        using (var process = HostMetrics.Activities.StartActivity("OnLine process", ActivityKind.Consumer, received))
            consumerTraceParent = process!.Id!;
        using (HostMetrics.StartPublish("OnWord", consumerTraceParent)) { }

        Assert.AreEqual(3, spans.Count);
        var (source, consumer, next) = (spans[0], spans[1], spans[2]);
        Assert.AreEqual(ActivityKind.Producer, source.Kind);
        Assert.AreEqual("OnLine publish", source.DisplayName);
        Assert.AreEqual(ActivityKind.Producer, next.Kind);
        Assert.AreEqual("OnWord publish", next.DisplayName);
        Assert.AreEqual(source.TraceId, next.TraceId, "one trace from the source's publish to the next stage's");
        Assert.AreEqual(source.SpanId, consumer.ParentSpanId);
        Assert.AreEqual(consumer.SpanId, next.ParentSpanId);
    }

    [TestMethod]
    public void Without_a_listener_a_publish_makes_no_span() =>
        Assert.IsNull(HostMetrics.StartPublish("OnLine"), "nobody listens to the source 'Weaving' in this test");

    [TestMethod]
    public void A_group_host_logs_its_progress_while_it_works()
    {
        var result = DistributedRun.Run(Fixtures.Get("HandWoven"), ["600"], new DistributedRunOptions
        {
            Environment = new Dictionary<string, string> { ["Weaving__ProgressInterval"] = "00:00:00.050" },
        });
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var progress = result.Hosts.SelectMany(h => h.Result.StandardError.Split('\n'))
            .Where(line => line.Contains(" message(s)/s, ", StringComparison.Ordinal))
            .ToList();
        Assert.IsTrue(progress.Count > 0, $"no progress line: {result}");
        StringAssert.Matches(progress[0], new System.Text.RegularExpressions.Regex(@"Group \w+: \d+ message\(s\)/s, \d+ in flight, \d+ failed \(\d+ processed so far\)"));
    }

    [TestMethod]
    public void An_OTLP_endpoint_in_the_environment_alone_exports_the_hosts_spans_and_metrics()
    {
        var fixture = Fixtures.Get("Reliable");
        Broker.EnsureReachable();
        var port = FreePort();
        using var receiver = new HttpListener();
        receiver.Prefixes.Add($"http://127.0.0.1:{port}/");
        receiver.Start();
        var received = new List<(string Path, string Body)>();
        var receiving = Task.Run(async () =>
        {
            while (receiver.IsListening)
            {
                HttpListenerContext context;
                try { context = await receiver.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                lock (received) received.Add((context.Request.Url!.AbsolutePath, Encoding.UTF8.GetString(body.ToArray())));
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });

        var run = ProcessRunner.Run("dotnet", [HostProcess.HostDll, "--app", fixture.WovenDll, "--stage", "Main,all", "--", "300"], TimeSpan.FromMinutes(2),
            new Dictionary<string, string>
            {
                ["WEAVING_RABBITMQ"] = Broker.Uri,
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            }, Fixtures.RepoRoot);
        receiver.Stop();
        var unwoven = ProcessRunner.RunDotnet(fixture.UnwovenDll, ["300"]);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.AreEqual(unwoven.StandardOutput, run.StandardOutput);
        (string Path, string Body)[] requests;
        lock (received) requests = [.. received];
        var traces = string.Concat(requests.Where(r => r.Path == "/v1/traces").Select(r => r.Body));
        var metrics = string.Concat(requests.Where(r => r.Path == "/v1/metrics").Select(r => r.Body));
        StringAssert.Contains(traces, "OnEvent publish", "the source's producer spans");
        StringAssert.Contains(traces, "OnEvent process", "the group's consumer spans");
        StringAssert.Contains(metrics, "weaving.messages.processed");
    }

    [TestMethod]
    public void One_events_trace_crosses_the_stages_on_the_queues_from_the_sources_publish_to_the_next_groups()
    {
        // Reliable: Main posts OnEvent (group OnEvent), which posts OnResult (group OnEnd). Spans are made because an OTLP
        // endpoint is configured (nothing answers there: exporting fails quietly, which is no concern of the run).
        const int events = 40;
        var fixture = Fixtures.Get("Reliable");
        var layout = DistributedRun.Layout(fixture.WovenDll)!;
        Broker.DeleteQueuesAsync(layout.AllQueues).GetAwaiter().GetResult();
        var telemetry = new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{FreePort()}" };
        var onEvent = layout.Group("OnEvent");
        var onEnd = layout.GroupOf("OnResult");

        using var source = HostProcess.Start("Main", ["--app", fixture.WovenDll, "--stage", "Main", "--", $"{events}"], null, telemetry);
        HostProcess? group = null;
        try
        {
            var fromSource = WaitForMessages(onEvent.Queue, events, source);
            var sourceSpans = fromSource.Select(Parse).ToList();
            var traces = sourceSpans.Select(s => s.TraceId).ToHashSet();
            Assert.HasCount(events, traces, "each event the source posts starts a trace of its own");

            group = HostProcess.Start("OnEvent", ["--app", fixture.WovenDll, "--stage", "OnEvent"], null, telemetry);
            // OnEnd's queue may also hold the source's OnEnd message (a trace of its own): the group's posts are OnResult.
            var fromGroup = WaitForMessages(onEnd.Queue, events, group)
                .Where(h => h.GetValueOrDefault("type") == "OnResult").ToList();
            Assert.IsNotEmpty(fromGroup);
            foreach (var posted in fromGroup.Select(Parse))
            {
                Assert.Contains(posted.TraceId, traces, "the group's post is in the trace of the source's publish");
                Assert.IsFalse(sourceSpans.Any(s => s.SpanId == posted.SpanId),
                    "it was published by the group's own producer span (a child of its consumer span), not by the source's");
            }
        }
        finally
        {
            group?.Terminate(TimeSpan.FromSeconds(60));
            group?.Dispose();
            source.Terminate(TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>A message's trace, and the span that published it (its traceparent names the producer span).</summary>
    static (string TraceId, string SpanId) Parse(Dictionary<string, string?> headers)
    {
        var traceParent = headers.GetValueOrDefault("traceparent");
        Assert.IsNotNull(traceParent, $"a message without traceparent: {string.Join(", ", headers)}");
        Assert.IsTrue(ActivityContext.TryParse(traceParent, null, out var context), $"not a W3C traceparent: {traceParent}");
        return (context.TraceId.ToHexString(), context.SpanId.ToHexString());
    }

    /// <summary>
    /// The headers of the messages in <paramref name="queue"/> once it holds <paramref name="count"/>, left in it (read
    /// once: each read counts toward the quorum queue's delivery limit).
    /// </summary>
    static List<Dictionary<string, string?>> WaitForMessages(string queue, int count, HostProcess producer)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        uint held;
        while ((held = Broker.CountAsync(queue).GetAwaiter().GetResult()) < count)
        {
            if (producer.HasExited || DateTime.UtcNow > deadline)
                Assert.Fail($"{queue} holds {held} of {count} messages.{Environment.NewLine}--- {producer.Role} ---{Environment.NewLine}{producer.StandardErrorSoFar}");
            Thread.Sleep(200);
        }
        return Broker.PeekAsync(queue, count).GetAwaiter().GetResult();
    }

    static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
