namespace Weaving.Woven;

/// <summary>
/// The broker queue of a stage group, <c>weaving.&lt;assembly&gt;.&lt;group&gt;</c>: the one definition of the name the weaver
/// writes into the stage map and every host and source declares. Compiled into both (Weaver.Fody links this file, as
/// an internal type there, so that nothing that references both sees two).
/// </summary>
#if WEAVER_FODY
internal
#else
public
#endif
static class GroupQueueName
{
    /// <summary>What every queue of Weaving's is named with first.</summary>
    public const string Prefix = "weaving.";

    public static string For(string assembly, string group) => Prefix + assembly + "." + group;

    /// <summary>The first part of every queue of <paramref name="assembly"/>: its groups' and its source runs'.</summary>
    public static string ForAssembly(string assembly) => Prefix + assembly + ".";
}
