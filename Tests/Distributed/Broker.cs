using System.Diagnostics;
using System.Net.Sockets;
using RabbitMQ.Client;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>
/// The RabbitMQ broker the distributed tests need, at localhost:5672 (or <c>WEAVING_RABBITMQ</c>). A test that needs it
/// and does not find it fails, with how to start it: it is never skipped.
/// <para>
/// On the local broker each test process works in a virtual host of its own (<c>weaving-tests-&lt;pid&gt;</c>), made with
/// rabbitmqctl and deleted at the end: several people running the tests on one machine would otherwise delete each other's
/// queues and consume each other's messages. Where rabbitmqctl cannot be used, the tests share the default one.
/// </para>
/// </summary>
public static class Broker
{
    const string DefaultUri = "amqp://guest:guest@localhost:5672/";
    const string VhostPrefix = "weaving-tests-";
    static readonly Lazy<string> uri = new(ChooseUri);

    public static string Uri => uri.Value;

    /// <summary>The virtual host of this test process, or null when it uses the broker's default one.</summary>
    public static string? Vhost { get; private set; }

    public const string HowToStart =
        "Start it: `rabbitmq-server -detached; until rabbitmq-diagnostics -q ping; do sleep 0.3; done; rabbitmqctl -q await_startup` " +
        "(install with `apt-get install -y rabbitmq-server`; ./build.sh test does both).";

    public static void EnsureReachable(string? brokerUri = null)
    {
        var configured = Environment.GetEnvironmentVariable("WEAVING_RABBITMQ");
        var target = new Uri(brokerUri ?? (string.IsNullOrEmpty(configured) ? DefaultUri : configured));
        var port = target.Port > 0 ? target.Port : 5672;
        try
        {
            using var client = new TcpClient();
            if (!client.ConnectAsync(target.Host, port).Wait(TimeSpan.FromSeconds(5)))
                Assert.Fail($"RabbitMQ did not answer at {target.Host}:{port} within 5 s. {HowToStart}");
        }
        catch (Exception e) when (e is SocketException or AggregateException)
        {
            Assert.Fail($"RabbitMQ is not reachable at {target.Host}:{port} ({(e.InnerException ?? e).Message}). {HowToStart}");
        }
    }

    public static async Task<IConnection> ConnectAsync(string? brokerUri = null)
    {
        EnsureReachable();
        var factory = new ConnectionFactory { Uri = new Uri(brokerUri ?? Uri), ClientProvidedName = "weaving tests" };
        return await factory.CreateConnectionAsync();
    }

    /// <summary>
    /// Deletes queues (with their messages) so that a run starts from nothing; missing queues are fine. RabbitMQ 3.10's
    /// quorum queue log (Ra) can crash its segment writer on a segment of a queue deleted moments before
    /// (<c>ra_log_segment_writer</c>, <c>badmatch {error,enoent}</c> in the broker's log, after the tests that delete and
    /// declare the same queues run after run); its supervisor restarts it, and a delete caught in between is refused
    /// with INTERNAL_ERROR (541). Such a delete is tried again, on a new connection, a few times.
    /// </summary>
    public static async Task DeleteQueuesAsync(IEnumerable<string> queues)
    {
        var names = queues.ToList();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await ConnectAsync();
                foreach (var queue in names)
                {
                    await using var channel = await connection.CreateChannelAsync();
                    await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
                }
                return;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 541 && attempt < 5)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt));
            }
        }
    }

    /// <summary>Publishes raw bytes with the given headers (and AMQP message-id) to a queue, confirmed.</summary>
    public static Task PublishRawAsync(string queue, byte[] body, IDictionary<string, object?>? headers = null, string? messageId = null) =>
        PublishRawAsync(queue, body, new BasicProperties { Persistent = true, Headers = headers, MessageId = messageId });

    /// <summary>Publishes raw bytes with the given properties to a queue, confirmed.</summary>
    public static async Task PublishRawAsync(string queue, byte[] body, BasicProperties properties)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        await channel.BasicPublishAsync("", queue, mandatory: true, properties, body);
    }

    /// <summary>The properties a stage message carries (README-wire.md), persistent.</summary>
    public static BasicProperties StageMessage(string stage, string id, string build, string? replyTo = null) =>
        new() { Persistent = true, ContentType = "application/json", MessageId = id, Type = stage, AppId = build, ReplyTo = replyTo };

    /// <summary>Takes every message now in <paramref name="queue"/> (acknowledging them): headers as text, and bodies.</summary>
    public static async Task<List<(Dictionary<string, string?> Headers, byte[] Body)>> TakeAllAsync(string queue)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var messages = new List<(Dictionary<string, string?>, byte[])>();
        while (await channel.BasicGetAsync(queue, autoAck: true) is { } result)
            messages.Add((HeadersAsText(result.BasicProperties), result.Body.ToArray()));
        return messages;
    }

    /// <summary>The headers of the first message in <paramref name="queue"/>, left in the queue; null when it is empty.</summary>
    public static async Task<Dictionary<string, string?>?> PeekAsync(string queue)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        if (await channel.BasicGetAsync(queue, autoAck: false) is not { } result) return null;
        await channel.BasicNackAsync(result.DeliveryTag, multiple: false, requeue: true);
        return HeadersAsText(result.BasicProperties);
    }

    /// <summary>
    /// The headers of the first <paramref name="count"/> messages in <paramref name="queue"/>, all left in it (never
    /// acknowledged). Read through a consumer: a quorum queue with a single active consumer refuses basic.get.
    /// </summary>
    public static async Task<List<Dictionary<string, string?>>> PeekAsync(string queue, int count)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var headers = new List<Dictionary<string, string?>>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new RabbitMQ.Client.Events.AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            lock (headers)
            {
                headers.Add(HeadersAsText(delivery.BasicProperties));
                if (headers.Count >= count) all.TrySetResult();
            }
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await all.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // Closing the channel returns them all to the queue.
        await channel.CloseAsync();
        lock (headers) return [.. headers];
    }

    /// <summary>Messages ready in <paramref name="queue"/>; 0 while it does not exist yet.</summary>
    public static async Task<uint> CountAsync(string queue)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return 0;
        }
    }

    /// <summary>
    /// The headers as text, and the properties a stage message is named by, under their AMQP names: <c>message-id</c>,
    /// <c>type</c>, <c>app-id</c>, <c>reply-to</c> (when set).
    /// </summary>
    static Dictionary<string, string?> HeadersAsText(IReadOnlyBasicProperties properties)
    {
        var headers = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (properties.MessageId is { } messageId) headers["message-id"] = messageId;
        if (properties.Type is { } type) headers["type"] = type;
        if (properties.AppId is { } appId) headers["app-id"] = appId;
        if (properties.ReplyTo is { } replyTo) headers["reply-to"] = replyTo;
        foreach (var (key, value) in properties.Headers ?? new Dictionary<string, object?>())
            headers[key] = value is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : value?.ToString();
        return headers;
    }

    /// <summary>
    /// <c>rabbitmqctl stop_app</c>, <paramref name="down"/>, <c>start_app</c>: every connection is closed by the broker, and
    /// nothing answers until it is back. The broker is always started again, whatever happens.
    /// </summary>
    public static void Restart(TimeSpan down)
    {
        try
        {
            var stopped = Rabbitmqctl("stop_app");
            Assert.AreEqual(0, stopped.ExitCode, $"rabbitmqctl stop_app failed: {stopped}");
            Thread.Sleep(down);
        }
        finally
        {
            var started = Rabbitmqctl("start_app");
            var ready = Rabbitmqctl("await_startup");
            Assert.AreEqual(0, started.ExitCode, $"rabbitmqctl start_app failed: {started}");
            Assert.AreEqual(0, ready.ExitCode, $"rabbitmqctl await_startup failed: {ready}");
        }
    }

    /// <summary>Runs rabbitmqctl (found on PATH or where the Debian package puts it).</summary>
    public static ProcessResult Rabbitmqctl(params string[] args)
    {
        var ctl = new[] { Environment.GetEnvironmentVariable("PATH") ?? "" }
            .SelectMany(p => p.Split(Path.PathSeparator))
            .Concat(["/usr/sbin", "/usr/lib/rabbitmq/bin", "/sbin"])
            .Select(dir => Path.Combine(dir, "rabbitmqctl"))
            .FirstOrDefault(File.Exists);
        if (ctl is null) Assert.Fail($"rabbitmqctl not found, which this test needs. {HowToStart}");
        return ProcessRunner.Run(ctl, ["-q", .. args], TimeSpan.FromMinutes(2));
    }

    static string ChooseUri()
    {
        if (Environment.GetEnvironmentVariable("WEAVING_RABBITMQ") is { Length: > 0 } configured) return configured;
        EnsureReachable(DefaultUri);
        try
        {
            RemoveStaleVhosts();
            var vhost = VhostPrefix + Environment.ProcessId;
            if (Rabbitmqctl("add_vhost", vhost).ExitCode != 0) return DefaultUri;
            if (Rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*").ExitCode != 0) return DefaultUri;
            Vhost = vhost;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Rabbitmqctl("delete_vhost", vhost);
            return DefaultUri + vhost;
        }
        catch (Exception e) when (e is AssertFailedException or IOException or System.ComponentModel.Win32Exception or TimeoutException)
        {
            Trace.WriteLine($"tests share the default virtual host: {e.Message}");
            return DefaultUri;
        }
    }

    // Virtual hosts of test processes that are gone (killed before they could delete theirs).
    static void RemoveStaleVhosts()
    {
        var list = Rabbitmqctl("list_vhosts", "name");
        if (list.ExitCode != 0) return;
        foreach (var line in list.StandardOutput.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith(VhostPrefix, StringComparison.Ordinal) || !int.TryParse(line[VhostPrefix.Length..], out var pid)) continue;
            bool alive;
            try { using var process = Process.GetProcessById(pid); alive = !process.HasExited; }
            catch (ArgumentException) { alive = false; }
            if (!alive) Rabbitmqctl("delete_vhost", line);
        }
    }
}
