using System.Net.Sockets;
using RabbitMQ.Client;

namespace Weaving.Tests.Distributed;

/// <summary>
/// The RabbitMQ broker the distributed tests need, at localhost:5672 (or <c>WEAVING_RABBITMQ</c>). A test that needs it
/// and does not find it fails, with how to start it: it is never skipped.
/// </summary>
public static class Broker
{
    public static string Uri =>
        Environment.GetEnvironmentVariable("WEAVING_RABBITMQ") is { Length: > 0 } uri ? uri : "amqp://guest:guest@localhost:5672/";

    public const string HowToStart =
        "Start it: `rabbitmq-server -detached; until rabbitmq-diagnostics -q ping; do sleep 0.3; done; rabbitmqctl -q await_startup` " +
        "(install with `apt-get install -y rabbitmq-server`; ./build.sh test does both).";

    public static void EnsureReachable(string? brokerUri = null)
    {
        var uri = new Uri(brokerUri ?? Uri);
        var port = uri.Port > 0 ? uri.Port : 5672;
        try
        {
            using var client = new TcpClient();
            if (!client.ConnectAsync(uri.Host, port).Wait(TimeSpan.FromSeconds(5)))
                Assert.Fail($"RabbitMQ did not answer at {uri.Host}:{port} within 5 s. {HowToStart}");
        }
        catch (Exception e) when (e is SocketException or AggregateException)
        {
            Assert.Fail($"RabbitMQ is not reachable at {uri.Host}:{port} ({(e.InnerException ?? e).Message}). {HowToStart}");
        }
    }

    public static async Task<IConnection> ConnectAsync()
    {
        EnsureReachable();
        var factory = new ConnectionFactory { Uri = new Uri(Uri), ClientProvidedName = "weaving tests" };
        return await factory.CreateConnectionAsync();
    }

    /// <summary>Deletes queues (with their messages) so that a run starts from nothing; missing queues are fine.</summary>
    public static async Task DeleteQueuesAsync(IEnumerable<string> queues)
    {
        await using var connection = await ConnectAsync();
        foreach (var queue in queues)
        {
            await using var channel = await connection.CreateChannelAsync();
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
        }
    }

    /// <summary>Publishes raw bytes with the given headers to a queue, confirmed.</summary>
    public static async Task PublishRawAsync(string queue, byte[] body, IDictionary<string, object?>? headers = null)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        var properties = new BasicProperties { Persistent = true, Headers = headers };
        await channel.BasicPublishAsync("", queue, mandatory: true, properties, body);
    }

    /// <summary>Takes every message now in <paramref name="queue"/> (acknowledging them): headers as text, and bodies.</summary>
    public static async Task<List<(Dictionary<string, string?> Headers, byte[] Body)>> TakeAllAsync(string queue)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var messages = new List<(Dictionary<string, string?>, byte[])>();
        while (await channel.BasicGetAsync(queue, autoAck: true) is { } result)
        {
            var headers = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var (key, value) in result.BasicProperties.Headers ?? new Dictionary<string, object?>())
                headers[key] = value is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : value?.ToString();
            messages.Add((headers, result.Body.ToArray()));
        }
        return messages;
    }
}
