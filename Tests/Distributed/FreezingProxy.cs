using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Weaving.Tests.Distributed;

/// <summary>
/// A TCP proxy between processes of a run and the broker, to catch a process in the middle of sending something: once
/// armed, the first connection whose outgoing bytes contain <see cref="Trigger"/> is frozen right after them (the broker
/// has received part of that message, and gets nothing more of that connection), and <see cref="Frozen"/> completes.
/// Closing either side closes the other. Every other connection, and every connection made later, is passed through.
/// With <see cref="FreezeReplies"/>, the message goes through whole, and what freezes is the way back: the process gets
/// nothing more from the broker (not the confirm of that message), while the broker gets all it sends.
/// </summary>
public sealed class FreezingProxy : IDisposable
{
    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly Uri broker;
    readonly CancellationTokenSource stop = new();
    readonly byte[] trigger;
    volatile bool armed;
    volatile bool repliesFrozen;

    public FreezingProxy(string brokerUri, string trigger, bool freezeReplies = false)
    {
        FreezeReplies = freezeReplies;
        broker = new Uri(brokerUri);
        this.trigger = Encoding.ASCII.GetBytes(trigger);
        Trigger = trigger;
        listener.Start();
        _ = Task.Run(AcceptAsync);
    }

    public string Trigger { get; }

    public bool FreezeReplies { get; }

    /// <summary>Completes when a connection was frozen after sending <see cref="Trigger"/>.</summary>
    public TaskCompletionSource Frozen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The broker's URI (credentials and virtual host) through the proxy.</summary>
    public string Uri => new UriBuilder(broker) { Host = "127.0.0.1", Port = ((IPEndPoint)listener.LocalEndpoint).Port }.Uri.ToString();

    /// <summary>From now on, the next connection that sends the trigger is frozen.</summary>
    public void Arm() => armed = true;

    async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch { return; }
            _ = Task.Run(() => PipeAsync(client));
        }
    }

    async Task PipeAsync(TcpClient client)
    {
        using var _ = client;
        using var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(broker.Host, broker.Port > 0 ? broker.Port : 5672, stop.Token);
        }
        catch
        {
            return;
        }
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        var up = Task.Run(() => CopyAsync(client.GetStream(), upstream.GetStream(), watch: true, closed));
        var down = Task.Run(() => CopyAsync(upstream.GetStream(), client.GetStream(), watch: false, closed));
        await Task.WhenAny(up, down);
        await closed.CancelAsync();
    }

    async Task CopyAsync(NetworkStream from, NetworkStream to, bool watch, CancellationTokenSource connection)
    {
        var token = connection.Token;
        var buffer = new byte[64 * 1024];
        // The last bytes of the previous read, so that a trigger split between two reads is found.
        var carry = Array.Empty<byte>();
        var frozen = false;
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, token);
                if (read == 0) return;
                if (frozen) continue; // swallowed: the broker gets nothing more of this connection
                if (!watch && repliesFrozen && ReferenceEquals(frozenConnection, connection)) continue; // the process gets nothing more
                if (watch && armed)
                {
                    var window = carry.Concat(buffer.Take(read)).ToArray();
                    var at = IndexOf(window, trigger);
                    if (at >= 0 && FreezeReplies && Interlocked.Exchange(ref frozenOnce, 1) == 0)
                    {
                        frozenConnection = connection;
                        repliesFrozen = true;
                        await to.WriteAsync(buffer.AsMemory(0, read), token);
                        Frozen.TrySetResult();
                        continue;
                    }
                    if (at >= 0 && Interlocked.Exchange(ref frozenOnce, 1) == 0)
                    {
                        var end = at + trigger.Length - carry.Length;
                        if (end > 0) await to.WriteAsync(buffer.AsMemory(0, end), token);
                        frozen = true;
                        frozenConnection = connection;
                        Frozen.TrySetResult();
                        continue;
                    }
                    carry = window.Skip(Math.Max(0, window.Length - trigger.Length)).ToArray();
                }
                await to.WriteAsync(buffer.AsMemory(0, read), token);
            }
        }
        catch
        {
            // either side closed: the pipe ends, and closes the other
        }
    }

    int frozenOnce;
    volatile CancellationTokenSource? frozenConnection;

    /// <summary>
    /// Closes the frozen connection, both ways, as a broker that went away would: the broker drops the partial message,
    /// the process sees its connection lost and connects again (through the proxy, which passes it through).
    /// </summary>
    public void CutFrozen() => frozenConnection?.Cancel();

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Length; i++)
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return i;
        return -1;
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
    }
}
