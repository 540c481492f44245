namespace Weaving.InMemory;

/// <summary>How a group's messages run: the runtime's decision, per group, from what it measured.</summary>
public enum GroupRoute
{
    /// <summary>As a direct call on the sender's thread: the hop would cost more than it gains.</summary>
    Inline,

    /// <summary>Through the group's queue, on its own worker thread: the work pays for the hop.</summary>
    Hop,
}

/// <summary>Who decides the route: the measurements (the default), or a fixed choice for tests and comparisons.</summary>
public enum InlinePolicy
{
    /// <summary>Per group, from the measured handler and hop costs.</summary>
    Adaptive,

    /// <summary>Every message that may run inline does (WEAVING_INLINE=always).</summary>
    Always,

    /// <summary>Every message goes through a queue (WEAVING_INLINE=never).</summary>
    Never,

    /// <summary>Each group switches between the two every few posts (WEAVING_INLINE=alternate): for the contract tests, which
    /// must hold across switches.</summary>
    Alternate,
}

static class InlinePolicies
{
    /// <summary>The policy WEAVING_INLINE names; unset or anything else is <see cref="InlinePolicy.Adaptive"/>.</summary>
    public static InlinePolicy FromEnvironment() => Environment.GetEnvironmentVariable("WEAVING_INLINE") switch
    {
        "always" => InlinePolicy.Always,
        "never" => InlinePolicy.Never,
        "alternate" => InlinePolicy.Alternate,
        _ => InlinePolicy.Adaptive,
    };
}
