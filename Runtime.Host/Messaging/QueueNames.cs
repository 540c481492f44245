using System.Text;
using Weaving.Woven;

namespace Weaving.Host.Messaging;

/// <summary>
/// Queue names, the one place the host spells them: <c>weaving.&lt;assembly&gt;.&lt;group&gt;</c>, <c>….dead</c> for its
/// dead letters, <c>….owner</c> for a stateful group's owner record, <c>….checkpoint</c> for its latest checkpoint, <c>weaving.&lt;assembly&gt;.source.&lt;run&gt;</c> for
/// a source run's control queue.
/// </summary>
public static class QueueNames
{
    /// <summary>AMQP names a queue in a short string: at most 255 bytes.</summary>
    public const int MaxBytes = 255;
    const string SourceSegment = "source.";
    const int RunLength = 16;

    public static string ForGroup(WovenApp app, GroupInfo group) => GroupQueueName.For(app.Name, group.Name);
    public static string DeadLetters(string groupQueue) => groupQueue + ".dead";
    /// <summary>A stateful group's owner record: which host is its active consumer, and how far it got.</summary>
    public static string Owner(string groupQueue) => groupQueue + ".owner";
    /// <summary>A stateful group's latest checkpoint: its state, and the messages it reflects.</summary>
    public static string Checkpoint(string groupQueue) => groupQueue + ".checkpoint";
    /// <summary>The source's control queue for one run: hosts report finished messages to it.</summary>
    public static string ForSourceRun(WovenApp app, string run) => SourceRunPrefix(app) + run;

    /// <summary>
    /// True when <paramref name="name"/> is what <see cref="ForSourceRun"/> makes for <paramref name="app"/>, with a run of
    /// 16 lowercase hex digits, and fits an AMQP queue name: the only names a host publishes reports to.
    /// </summary>
    public static bool IsSourceRun(WovenApp app, string name)
    {
        var prefix = SourceRunPrefix(app);
        if (!name.StartsWith(prefix, StringComparison.Ordinal) || name.Length != prefix.Length + RunLength) return false;
        foreach (var c in name.AsSpan(prefix.Length))
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) return false;
        return Encoding.UTF8.GetByteCount(name) <= MaxBytes;
    }

    /// <summary>What <see cref="IsSourceRun"/> accepts, for a person: <c>weaving.App.source.&lt;16 hex digits&gt;</c>.</summary>
    public static string SourceRunPattern(WovenApp app) => SourceRunPrefix(app) + $"<{RunLength} hex digits>";

    static string SourceRunPrefix(WovenApp app) => GroupQueueName.ForAssembly(app.Name) + SourceSegment;
}
