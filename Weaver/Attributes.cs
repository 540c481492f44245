namespace Weaving;

/// <summary>
/// Makes every call to this method a continuation: the caller hands the call over and goes on.
/// The user accepts asynchronous semantics for it, whatever the weaver's rule would have decided.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class StageAttribute : Attribute;

/// <summary>Keeps every call to this method synchronous: it is never cut into a stage.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class InlineAttribute : Attribute;
