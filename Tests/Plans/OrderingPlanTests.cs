namespace Weaving.Tests.Plans;

/// <summary>docs/design.md §4: joins (a source fork drains, a stage fork fuses its diamond) and cycles.</summary>
[TestClass]
public sealed class OrderingPlanTests
{
    [TestMethod]
    public void A_fork_at_the_source_drains_the_earlier_path_before_posting_to_the_later_one()
    {
        var map = StageMap.Of("SourceForkBarrier");
        PlanAssert.SameSet(["OnLeft: OnLeft", "OnRight: OnRight", "OnJoin: OnJoin"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["OnLeft -> OnRight", "OnRight -> OnLeft"], map.BarrierPairs, "barriers");
        PlanAssert.SameSet(["WEAV023@12", "WEAV023@13"], map.DiagnosticLines, "diagnostics");
        Assert.IsTrue(map.Diagnostics.All(d => d.Severity == "info"));
    }

    [TestMethod]
    public void A_fork_inside_a_stage_fuses_the_diamond_into_the_forks_group_with_a_warning()
    {
        var map = StageMap.Of("StageDiamond");
        PlanAssert.SameSet(["OnOrder: OnLedger, OnOrder, OnPrice, OnStock"], map.GroupLayout, "groups");
        PlanAssert.SameSet([], map.BarrierPairs, "barriers");
        PlanAssert.SameSet(["WEAV022@25"], map.DiagnosticLines, "diagnostics");
        StringAssert.Contains(map.Diagnostics.Single().Message, "OnOrder forks into paths that meet again at OnLedger");
        PlanAssert.SameSet(["Program.Main -> Program.OnOrder @13: cut", "Program.Main -> Program.OnOrder @14: cut",
            "Program.OnOrder -> Program.OnLedger @21: cut", "Program.OnOrder -> Program.OnPrice @25: cut", "Program.OnOrder -> Program.OnStock @26: cut",
            "Program.OnPrice -> Program.OnLedger @29: cut", "Program.OnStock -> Program.OnLedger @31: cut"], map.Sites, "call sites");
    }

    [TestMethod]
    public void A_handler_that_continues_into_itself_and_a_loop_of_stages_are_cut()
    {
        var map = StageMap.Of("Cycle");
        PlanAssert.SameSet(["OnCollatz: OnCollatz", "OnPing: OnPing", "OnPong: OnPong", "OnResult: OnResult"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.Main -> Program.OnCollatz @12: cut", "Program.Main -> Program.OnPing @13: cut", "Program.Main -> Program.OnResult @14: cut",
            "Program.OnCollatz -> Program.OnResult @19: cut", "Program.OnCollatz -> Program.OnCollatz @20: cut", "Program.OnCollatz -> Program.OnCollatz @21: cut",
            "Program.OnPing -> Program.OnResult @26: cut", "Program.OnPing -> Program.OnPong @27: cut", "Program.OnPong -> Program.OnPing @30: cut"], map.Sites, "call sites");
        // OnPing and OnPong form one strongly connected component: one rank, so back-pressure cannot wait around the loop.
        Assert.AreEqual(map.Groups.Single(g => g.Name == "OnPing").Rank, map.Groups.Single(g => g.Name == "OnPong").Rank);
        // The source drains OnPing's loop before posting to it again.
        CollectionAssert.Contains(map.BarrierPairs, "OnPing -> OnPing");
        PlanAssert.SameSet(["OnPing -> OnCollatz", "OnResult -> OnCollatz", "OnCollatz -> OnPing", "OnPing -> OnPing", "OnResult -> OnPing",
            "OnCollatz -> OnResult", "OnPing -> OnResult"], map.BarrierPairs, "barriers");
        PlanAssert.SameSet(["WEAV023@12", "WEAV023@13", "WEAV023@14"], map.DiagnosticLines, "diagnostics");
    }
}
