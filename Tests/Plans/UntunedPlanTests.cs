namespace Weaving.Tests.Plans;

/// <summary>
/// A program in the style of docs/design.md §2 that was written after the weaver and did not change it: the plan is
/// the one the model predicts, stage by stage.
/// </summary>
[TestClass]
public sealed class UntunedPlanTests
{
    [TestMethod]
    public void An_untuned_access_log_analyser_gets_the_stages_the_model_predicts()
    {
        var map = StageMap.Of("Untuned");
        // Parsing and routing hold no state: a group each. Everything the report reads fuses with it.
        PlanAssert.SameSet(["OnLine: OnLine", "OnEntry: OnEntry", "OnReport: OnLatency, OnReport, OnSlow, OnStatus"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.Paths: constant", "Program.latencies: shared OnReport", "Program.lines: shared OnReport",
            "Program.slow: shared OnReport", "Program.statuses: shared OnReport"], map.Placements, "placements");
        PlanAssert.SameSet(["Program.Main -> Program.OnLine @22: cut", "Program.Main -> Program.OnReport @24: cut",
            "Program.OnEntry -> Program.OnStatus @36: cut", "Program.OnEntry -> Program.OnLatency @37: cut",
            "Program.OnLatency -> Program.OnSlow @50: cut", "Program.OnLine -> Program.OnEntry @31: cut"], map.Sites, "call sites");
        // The report comes after every line: the source drains the lines before posting it.
        PlanAssert.SameSet(["OnLine -> OnReport", "OnReport -> OnLine"], map.BarrierPairs, "barriers");
        PlanAssert.SameSet(["WEAV021@42", "WEAV021@43", "WEAV021@48", "WEAV021@53", "WEAV023@22", "WEAV023@24"], map.DiagnosticLines, "diagnostics");
    }
}
