namespace Weaving;

/// <summary>
/// The meter <c>Weaving</c>, as the hosts (Runtime.Host's <c>HostMetrics</c>) and the in-memory runtime publish it: the
/// names, defined once, so that one dashboard reads both.
/// </summary>
public static class WeavingMeter
{
    public const string Name = "Weaving";
    /// <summary>The tag every measurement carries: the stage group's name.</summary>
    public const string GroupTag = "weaving.group";
    public const string Processed = "weaving.messages.processed";
    public const string Failed = "weaving.messages.failed";
    public const string DeadLettered = "weaving.messages.dead_lettered";
    public const string Duplicates = "weaving.messages.duplicates";
    public const string InFlight = "weaving.messages.in_flight";
    /// <summary>In memory only: messages run as a direct call on their sender's thread.</summary>
    public const string Inline = "weaving.messages.inline";
    public const string Unit = "{message}";
    public const string ProcessedDescription = "Messages a group ran to completion, handler failures included.";
    public const string FailedDescription = "Messages whose handler threw.";
}
