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
    [TestMethod]
    public void Methods_of_objects_held_by_static_fields_are_handlers_and_each_objects_fields_are_its_state()
    {
        var map = StageMap.Of("InstanceHandlers");
        PlanAssert.SameSet(
        [
            "Program.Main -> Detector.OnReading @57: cut", "Program.Main -> Ledger.Print @60: cut",
            "Detector.OnReading -> Ledger.OnAnomaly @19: cut",
        ], map.Sites, "call sites");
        // The detector's queue and sums are its own: it runs apart from the ledger, which prints what it gathered.
        PlanAssert.SameSet(["OnReading: OnReading", "Print: OnAnomaly, Print"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.detector: owned OnReading", "Program.Ledger: shared Print"], map.Placements, "placements");
        // Main reads the detector's count after the feed: its fields come back from where the group ran.
        CollectionAssert.AreEqual(new[] { "Program.detector" }, map.Groups.Single(g => g.Name == "OnReading").Results);
    }
    [TestMethod]
    public void Raising_an_event_subscribed_in_Main_is_a_continuation_to_each_subscriber_in_subscription_order()
    {
        // A method group, a lambda that only calls a handler, a method of another object, and a static event.
        var map = StageMap.Of("Events");
        CollectionAssert.AreEqual(
            new[] { "Program.OnPage", "Program.OnCount", "Journal.OnAlert" },
            map.CallSites.Where(c => c.Caller == "Thermostat.OnReading").Select(c => c.Callee).ToArray(), "subscription order");
        PlanAssert.SameSet(
        [
            "Program.Main -> Thermostat.OnReading @55: cut", "Program.Main -> Program.OnTick @56: cut",
            "Thermostat.OnReading -> Program.OnPage @17: cut", "Thermostat.OnReading -> Program.OnCount @17: cut",
            "Thermostat.OnReading -> Journal.OnAlert @17: cut",
        ], map.Sites, "call sites");
        PlanAssert.SameSet(
        [
            "OnReading: OnReading", "OnTick: OnTick", "OnPage: OnPage", "OnCount: OnCount", "OnAlert: OnAlert",
        ], map.GroupLayout, "groups");
        // A static event's field is no one's state once its raises no longer read it: subscribing does not share it.
        CollectionAssert.Contains(map.Placements, "Program.Tick: constant");
        Assert.IsFalse(map.Diagnostics.Any(d => d.Id == "WEAV016"), string.Join("; ", map.DiagnosticLines));
    }
}
