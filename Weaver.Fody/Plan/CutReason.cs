namespace Weaving.Fody.Plan;

/// <summary>
/// The rule that keeps a call synchronous (docs/design.md §2). The diagnostic id, its severity and advice, the stage map's
/// <c>rule</c> field and the plan tests all read this value; the sentence shown to the user is printed from it.
/// </summary>
public enum CutRule
{
    /// <summary>The call is inside a try block with a catch or filter: the caller would catch the handler's exceptions.</summary>
    InsideTryCatch,
    /// <summary>After the call, the caller does something whose order relative to the handler may matter.</summary>
    EffectAfter,
    /// <summary>The method is also entered through a synchronous call, after which its caller does such a thing.</summary>
    EffectAfterInCaller,
    /// <summary>The method is also taken as a delegate (or run by a type initializer): it may be entered from anywhere.</summary>
    EnteredFromAnywhere,
    /// <summary>An argument's type cannot travel in a message.</summary>
    CannotTravel,
    /// <summary>A mutable argument is not the caller's to hand over.</summary>
    NotOwned,
    /// <summary>[Inline] on the handler.</summary>
    InlineAttribute,
    /// <summary>The Exclude option of FodyWeavers.xml names the handler.</summary>
    ExcludeOption,
    /// <summary>The handler shares state with the source in a way that needs it to run inside the source.</summary>
    SharedWithSource,
    /// <summary>An instance, async or generic handler (issue 13).</summary>
    NotSupportedYet,
    /// <summary>ref or out parameters: the caller waits for what the handler writes back.</summary>
    RefOrOut,
    /// <summary>
    /// The source calls it once, before it posts anything, to set up state that handlers it calls later read: cutting it
    /// gains nothing (they would wait for it), and run synchronously what it sets up is frozen instead of shared.
    /// </summary>
    SetsUpState,
    /// <summary>Not a method a message can run (it returns a value, has no body, is a constructor): only [Stage] can ask.</summary>
    NotAHandler,
}

/// <summary>Why one call stays synchronous: the rule, and what in the program made it apply (for the sentence).</summary>
public sealed class CutReason(CutRule rule, string detail)
{
    public CutRule Rule { get; } = rule;
    public string Detail { get; } = detail;

    public string Id => Rule switch
    {
        CutRule.InsideTryCatch => "WEAV010",
        CutRule.EffectAfter => "WEAV011",
        CutRule.CannotTravel => "WEAV012",
        CutRule.NotOwned => "WEAV013",
        CutRule.InlineAttribute or CutRule.ExcludeOption => "WEAV014",
        CutRule.SharedWithSource => "WEAV015",
        CutRule.NotSupportedYet => "WEAV016",
        CutRule.RefOrOut => "WEAV017",
        CutRule.EffectAfterInCaller or CutRule.EnteredFromAnywhere => "WEAV018",
        CutRule.NotAHandler => "WEAV003",
        CutRule.SetsUpState => "WEAV028",
        _ => throw new ArgumentOutOfRangeException(nameof(Rule), Rule, null),
    };

    public Severity Severity => Rule is CutRule.InlineAttribute or CutRule.ExcludeOption or CutRule.SetsUpState ? Severity.Info : Severity.Warning;

    /// <summary>What the user can do about it; empty when the user asked for it.</summary>
    public string Advice => Rule switch
    {
        CutRule.InsideTryCatch => "Move the try/catch into the handler to cut it.",
        CutRule.EffectAfter => "Make the call the last thing the caller does, or move the later effect into the handler.",
        CutRule.EffectAfterInCaller => "Call the method the same way everywhere: make its synchronous calls continuations too (the last thing their callers do), or call a separate method there.",
        CutRule.EnteredFromAnywhere => "Call the handler directly instead of through a delegate, or give the delegate a method of its own.",
        CutRule.CannotTravel => "Pass values that can travel: primitives, strings, arrays, collections, tuples, or records of those.",
        CutRule.NotOwned => "Pass a new object (or a copy) that the caller does not use afterwards.",
        CutRule.SharedWithSource => "Move the source's use of that state into a handler called at the end.",
        CutRule.NotSupportedYet => "To cut it now, make it a non-generic static void method, or a static async one that returns Task or ValueTask.",
        CutRule.RefOrOut => "Return results through a further handler call instead of ref/out parameters.",
        _ => "",
    };

    public override string ToString() => Detail;
}
