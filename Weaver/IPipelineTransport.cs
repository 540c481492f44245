using Weaving.Execution;

namespace Weaving;

/// <summary>
/// Carries messages between stage groups: the in-memory default, or a broker when the program runs under Runtime.Host.
/// </summary>
public interface IPipelineTransport : IDisposable
{
    /// <summary>Called once, before any message is sent.</summary>
    void Start(WovenApp app);

    /// <summary>Sends a message from the source (the thread running Main, or any thread outside a handler).</summary>
    void Send(in Envelope message);

    /// <summary>Blocks until every message sent so far, and everything they caused, has been processed.</summary>
    void Drain();

    /// <summary>Messages whose handler threw (after any retries).</summary>
    long FailedMessages { get; }
}
