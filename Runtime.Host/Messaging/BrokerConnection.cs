using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Weaving.Host.Drain;
using Weaving.Host.Startup;

namespace Weaving.Host.Messaging;

/// <summary>
/// The process's one connection to the broker, and the one place that reconnects. A part of the process that finds its
/// channels dead calls <see cref="Lost"/> and then <see cref="GetAsync"/>, which waits for the next connection; all parts
/// share it. The client's own automatic recovery is off: after a reconnect each part re-declares its queues, publishes
/// again what was not confirmed and consumes again, in that order (see <see cref="Consuming.GroupConsumer"/>), which the client's
/// recovery would do in another order, consuming before what was in flight is safe.
/// </summary>
public sealed class BrokerConnection : IAsyncDisposable, IDisposable
{
    // The largest body RabbitMQ accepts at all (its max_message_size cannot exceed 512 MiB). The client closes the whole
    // connection on a bigger body than it is configured for: that message would then come back after every reconnect.
    // So the client takes anything, and the host dead-letters what is over Weaving:MaxMessageBytes.
    const uint LargestBodyTheBrokerSends = 512u << 20;

    readonly ConnectionFactory factory;
    readonly string clientName;
    readonly TimeSpan reconnectTimeout;
    readonly ILogger logger;
    readonly Lock gate = new();
    readonly Timer watchdog;
    IConnection? current;
    Task<IConnection>? reconnecting;
    DateTime connectedAt;
    TimeSpan lastDelay = TimeSpan.FromMilliseconds(200);
    volatile bool disposed;
    volatile bool abandoned;

    public BrokerConnection(IOptions<WeavingOptions> options, BrokerClientName clientName, ILogger<BrokerConnection> logger)
    {
        var uri = options.Value.ResolveBroker();
        Redacted = Redact(uri);
        factory = CreateFactory(uri, clientName.Value);
        factory.RequestedHeartbeat = options.Value.Heartbeat;
        this.clientName = clientName.Value;
        reconnectTimeout = options.Value.ReconnectTimeout;
        this.logger = logger;
        watchdog = new Timer(_ => CheckConnection(), null, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>
    /// Raised, on a thread of the pool, when a connection is found lost: the parts using it stop whatever waits on it
    /// (see <see cref="ConfirmedPublisher.Abort"/>) and come back for the next one.
    /// </summary>
    public event Action<IConnection>? ConnectionLost;

    // RabbitMQ.Client 7.2 can leave a publish waiting forever on a connection the broker closed, and its shutdown events
    // with it (rabbitmq-dotnet-client#1930). The missed heartbeats mark such a connection closed all the same; this
    // watchdog, looking every 250 ms, then lets everything that waits on it go (ConnectionLost).
    void CheckConnection()
    {
        var connection = current;
        if (connection is { IsOpen: false }) Lost(connection, connection.CloseReason?.ReplyText ?? "closed");
    }

    /// <summary>The virtual host of the URI: where the queues are (rabbitmqctl's <c>-p</c>).</summary>
    public string VirtualHost => factory.VirtualHost;

    /// <summary>The broker's URI without its password: the only form in which it may be logged.</summary>
    public string Redacted { get; }

    /// <summary>Opens the first connection; a broker that cannot be reached is bad input (exit code 3), not a wait.</summary>
    public async Task OpenAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var connection = await ConnectAsync(cancellationToken);
            lock (gate) Adopt(connection);
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            throw new HostUsageException($"cannot reach RabbitMQ at {Redacted}: {Innermost(e)}", ExitCodes.BrokerUnreachable);
        }
        catch (BrokerRefusedException e)
        {
            throw new HostUsageException($"RabbitMQ at {Redacted} refused this process: {e.Message}", ExitCodes.BrokerUnreachable);
        }
    }

    // A connection the broker accepted, and that can open a channel: the broker refuses a user without access to the
    // virtual host only after the connection opened, and a channel is where that shows.
    async Task<IConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var connection = await factory.CreateConnectionAsync(clientName, cancellationToken);
        try
        {
            var probe = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            await probe.CloseAsync(cancellationToken);
            probe.Dispose();
            return connection;
        }
        catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException)
        {
            var reason = connection.CloseReason?.ReplyText ?? Innermost(e);
            connection.Dispose();
            throw new BrokerRefusedException(reason, e);
        }
    }

    /// <summary>
    /// The connection, once it is open: the current one, or while reconnecting the next one. Throws
    /// <see cref="BrokerLostException"/> once reconnecting has given up.
    /// </summary>
    public Task<IConnection> GetAsync(CancellationToken cancellationToken = default)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (current is null && reconnecting is null) throw new InvalidOperationException("the broker connection was not opened.");
            if (current is { IsOpen: true } open) return Task.FromResult(open);
            if (current is not null) StartReconnecting(current, current.CloseReason?.ReplyText ?? "closed");
            return reconnecting!.WaitAsync(cancellationToken);
        }
    }

    /// <summary><paramref name="connection"/> is no use any more: reconnect (once, however many parts report it).</summary>
    public void Lost(IConnection connection, string reason)
    {
        lock (gate)
            if (!disposed && current == connection) StartReconnecting(connection, reason);
    }

    /// <summary>
    /// True when <paramref name="e"/> came from losing <paramref name="connection"/> (the broker stopped, the network
    /// went away): what failed can be done again after reconnecting. False for anything else, such as a channel the
    /// broker closed for a bad command, which reconnecting would not cure.
    /// </summary>
    public static bool IsConnectionLoss(Exception e, IConnection connection)
    {
        if (e is not (AlreadyClosedException or OperationInterruptedException or IOException or SocketException
            or OperationCanceledException or ObjectDisposedException or BrokerUnreachableException or ConnectFailureException))
            return false;
        // The client closes the connection before it fails what was waiting on its channels; allow it a moment.
        for (var i = 0; i < 20 && connection.IsOpen; i++) Thread.Sleep(50);
        return !connection.IsOpen;
    }

    void StartReconnecting(IConnection lost, string reason)
    {
        current = null;
        if (ConnectionLost is { } handlers) _ = Task.Run(() => handlers(lost));
        if (reconnecting is { IsCompleted: false }) return;
        logger.LogWarning("Lost the connection to RabbitMQ at {Broker}: {Reason}; reconnecting (for up to {Timeout})",
            Redacted, reason, reconnectTimeout);
        reconnecting = ReconnectAsync();
        // In the background: the client may take minutes to let go of a dead socket.
        _ = Task.Run(() => lost.Dispose());
    }

    async Task<IConnection> ReconnectAsync()
    {
        var started = DateTime.UtcNow;
        // A broker that accepts connections and drops them at once is not hammered: the wait only starts short again
        // after a connection that lasted.
        var delay = DateTime.UtcNow - connectedAt > TimeSpan.FromSeconds(30) ? TimeSpan.FromMilliseconds(200) : lastDelay;
        for (var attempt = 1; ; attempt++)
        {
            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            lastDelay = delay;
            try
            {
                var connection = await ConnectAsync(CancellationToken.None);
                lock (gate)
                {
                    if (disposed) throw new ObjectDisposedException(nameof(BrokerConnection));
                    Adopt(connection);
                }
                logger.LogWarning("Reconnected to RabbitMQ at {Broker} after {Seconds:0.0}s ({Attempts} attempt(s))",
                    Redacted, (DateTime.UtcNow - started).TotalSeconds, attempt);
                return connection;
            }
            catch (Exception e) when (IsUnreachable(e) || e is BrokerRefusedException)
            {
                if (DateTime.UtcNow - started > reconnectTimeout)
                {
                    var lost = new BrokerLostException($"RabbitMQ at {Redacted} could not be reached for {reconnectTimeout}: {Innermost(e)}");
                    logger.LogCritical("{Error}", lost.Message);
                    throw lost;
                }
                logger.LogDebug("Reconnecting to {Broker}, attempt {Attempt}: {Error}", Redacted, attempt, Innermost(e));
            }
        }
    }

    void Adopt(IConnection connection)
    {
        current = connection;
        connectedAt = DateTime.UtcNow;
        watchdog.Change(TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
        connection.ConnectionShutdownAsync += (_, e) =>
        {
            // Noticed here even when no part is using its channels: reconnecting starts at once.
            if (e.Initiator != ShutdownInitiator.Application) Lost(connection, e.ReplyText);
            return Task.CompletedTask;
        };
    }

    /// <summary>
    /// The client's settings for <paramref name="uri"/>. For <c>amqps://</c>, TLS with the system's certificate validation
    /// and the URI's host as the name the certificate must carry: the client's default for such URIs accepts a certificate
    /// issued to another name, which would let anyone with any valid certificate stand in for the broker.
    /// </summary>
    public static ConnectionFactory CreateFactory(string uri, string clientName)
    {
        ConnectionFactory factory;
        try
        {
            factory = new ConnectionFactory
            {
                Uri = new Uri(uri),
                ClientProvidedName = clientName,
                // Reconnecting is this class's job, in the order the runtime needs (see the class summary).
                AutomaticRecoveryEnabled = false,
                TopologyRecoveryEnabled = false,
                RequestedConnectionTimeout = TimeSpan.FromSeconds(10),
                MaxInboundMessageBodySize = LargestBodyTheBrokerSends,
            };
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException)
        {
            // The client's message for a bad user info quotes it, password included.
            var why = e.Message.Contains("user info", StringComparison.OrdinalIgnoreCase)
                ? "bad user info (percent-encode ':', '@' and '/' in the user name and password)"
                : e.Message;
            throw new HostUsageException($"'{Redact(uri)}' is not an AMQP URI: {why}");
        }
        if (factory.Ssl.Enabled)
        {
            factory.Ssl = new SslOption
            {
                Enabled = true,
                ServerName = factory.HostName,
                AcceptablePolicyErrors = SslPolicyErrors.None,
                CertificateValidationCallback = null,
                // The operating system's choice of protocol versions.
                Version = SslProtocols.None,
            };
        }
        return factory;
    }

    /// <summary>
    /// <paramref name="text"/> with the password of every URI in it replaced by <c>***</c>: works on text that is not a
    /// valid URI too (a typo in the port must not print the password in the error that reports it).
    /// </summary>
    public static string Redact(string text)
    {
        var result = new System.Text.StringBuilder(text.Length);
        var rest = text.AsSpan();
        while (true)
        {
            var scheme = rest.IndexOf("://", StringComparison.Ordinal);
            if (scheme < 0) break;
            var start = scheme + 3;
            // The URI runs to the next blank or quote; its password, if any, from the first ':' to the last '@' (a
            // password with an unescaped '/' or '@' is not a valid URI, but is still a password).
            var token = rest[start..];
            var end = token.IndexOfAny(" \t\r\n'\"");
            if (end >= 0) token = token[..end];
            var at = token.LastIndexOf('@');
            var colon = at < 0 ? -1 : token[..at].IndexOf(':');
            result.Append(rest[..start]);
            if (colon >= 0) result.Append(token[..(colon + 1)]).Append("***").Append(token[at..]);
            else result.Append(token);
            rest = rest[(start + token.Length)..];
        }
        return result.Append(rest).ToString();
    }

    static bool IsUnreachable(Exception e) =>
        e is BrokerUnreachableException or SocketException or AuthenticationFailureException or TimeoutException
            or ConnectFailureException or IOException;

    // The client wraps the socket's error in one or two layers: the innermost says what happened.
    static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }

    /// <summary>
    /// The process leaves with a handler still running on this connection (see <c>Weaving:ShutdownTimeout</c>): closing it
    /// politely would wait for that handler, which the client does before it lets a channel go. Disposal then closes
    /// nothing; the connection goes with the process, and the broker delivers what was not acknowledged again.
    /// </summary>
    public void Abandon() => abandoned = true;

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        IConnection? connection;
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            connection = current;
            current = null;
        }
        await watchdog.DisposeAsync();
        if (connection is null || abandoned) return;
        try
        {
            if (connection.IsOpen) await connection.CloseAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or IOException or OperationCanceledException) { }
        connection.Dispose();
    }
}

/// <summary>The broker took the connection but refused this user something it needs (the virtual host, say).</summary>
public sealed class BrokerRefusedException(string message, Exception inner) : Exception(message, inner);

/// <summary>The name this process shows in the broker's connection list.</summary>
public sealed record BrokerClientName(string Value);
