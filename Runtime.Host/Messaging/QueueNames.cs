namespace Weaving.Host.Messaging;

/// <summary>Queue names: <c>weaving.&lt;assembly&gt;.&lt;group&gt;</c>, and <c>….dead</c> for its dead letters.</summary>
public static class QueueNames
{
    public static string ForGroup(WovenApp app, GroupInfo group) => $"weaving.{app.Name}.{group.Name}";
    public static string DeadLetters(string groupQueue) => groupQueue + ".dead";
    /// <summary>A stateful group's owner record: which host is its active consumer, and how far it got.</summary>
    public static string Owner(string groupQueue) => groupQueue + ".owner";
    /// <summary>The source's control queue for one run: hosts report finished messages to it.</summary>
    public static string ForSourceRun(WovenApp app, string run) => $"weaving.{app.Name}.source.{run}";
}
