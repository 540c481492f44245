using System.Net.Sockets;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Weaving.Host.Startup;

namespace Weaving.Host.Messaging;

/// <summary>Opens the process's one connection to the broker.</summary>
public static class BrokerConnection
{
    public static async Task<IConnection> OpenAsync(string uri, string clientName, CancellationToken cancellationToken = default)
    {
        ConnectionFactory factory;
        try
        {
            factory = new ConnectionFactory
            {
                Uri = new Uri(uri),
                ClientProvidedName = clientName,
                // A host that loses the broker exits and is restarted by its supervisor: its unacknowledged messages are
                // redelivered (at-least-once). Recovery inside the process would leave delivery tags of a dead channel to ack.
                AutomaticRecoveryEnabled = false,
                TopologyRecoveryEnabled = false,
                RequestedConnectionTimeout = TimeSpan.FromSeconds(10),
            };
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException)
        {
            throw new HostUsageException($"'{Redact(uri)}' is not an AMQP URI: {e.Message}");
        }

        try
        {
            return await factory.CreateConnectionAsync(clientName, cancellationToken);
        }
        catch (Exception e) when (e is BrokerUnreachableException or SocketException or AuthenticationFailureException or TimeoutException)
        {
            // The client wraps the socket's error in one or two layers: the innermost says what happened.
            var inner = e;
            while (inner.InnerException is not null) inner = inner.InnerException;
            var reason = inner.Message;
            throw new HostUsageException($"cannot reach RabbitMQ at {Redact(uri)}: {reason}", ExitCodes.BrokerUnreachable);
        }
    }

    /// <summary>The URI without its password, for messages.</summary>
    public static string Redact(string uri) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.UserInfo.Contains(':')
            ? uri.Replace(parsed.UserInfo, parsed.UserInfo.Split(':')[0] + ":***", StringComparison.Ordinal)
            : uri;
}
