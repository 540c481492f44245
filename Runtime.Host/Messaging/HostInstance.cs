using System.Globalization;

namespace Weaving.Host.Messaging;

/// <summary>This process as other processes name it: in owner records and takeover notices.</summary>
public sealed record HostInstance(string Id, string Description)
{
    public static HostInstance Current { get; } = new(
        ((ulong)Random.Shared.NextInt64()).ToString("x16", CultureInfo.InvariantCulture),
        $"{Environment.MachineName} pid {Environment.ProcessId}");

    public override string ToString() => Description;
}
