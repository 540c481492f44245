namespace Weaving.Tests.Plans;

/// <summary>
/// The input model of modern C# (docs/design.md §1.3): async handlers and an async Main, under the same rule and the
/// same contract as static void handlers.
/// </summary>
[TestClass]
public sealed class ModernCSharpPlanTests
{
    [TestMethod]
    public void Async_handlers_awaited_as_the_last_thing_or_discarded_are_cut_and_an_async_Main_is_the_source()
    {
        var map = StageMap.Of("AsyncChain");
        Assert.AreEqual("Program.Main", map.Source);
        PlanAssert.SameSet(
        [
            "Program.Main -> Program.OnLine @29: cut", "Program.Main -> Program.OnLetters @31: cut",
            "Program.OnLine -> Program.OnWord @44: cut", "Program.OnWord -> Program.OnLongWord @53: cut",
        ], map.Sites, "call sites");
        PlanAssert.SameSet(["OnLine: OnLine", "OnWord: OnWord", "OnLongWord: OnLongWord", "OnLetters: OnLetters"], map.GroupLayout, "groups");
        // Each handler's state is its own, whatever it awaits in between; Main reads it after its posts.
        PlanAssert.SameSet(
        [
            "Program.lines: owned OnLine", "Program.counts: owned OnWord", "Program.longWords: owned OnLongWord",
            "Program.letters: owned OnLetters",
        ], map.Placements, "placements");
        foreach (var (group, field) in new[] { ("OnLine", "Program.lines"), ("OnWord", "Program.counts"), ("OnLongWord", "Program.longWords"), ("OnLetters", "Program.letters") })
            CollectionAssert.AreEqual(new[] { field }, map.Groups.Single(g => g.Name == group).Results, group);
    }
}
