namespace Weaving.Tests.Plans;

/// <summary>Programs not written for Weaving: the weaver keeps what they print, and says why it cut what it cut.</summary>
[TestClass]
public sealed class OrdinaryProgramPlanTests
{
    [TestMethod]
    public void Stages_that_print_as_they_go_fuse_on_the_console_so_the_output_keeps_its_order()
    {
        var map = StageMap.Of("PrintsAsItGoes");
        PlanAssert.SameSet(["Process: Process, Report, Step"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["WEAV021@28"], map.DiagnosticLines, "diagnostics");
        var warning = map.Diagnostics.Single().Message;
        StringAssert.Contains(warning, "the console is used by Process, Report, Step (Process at line 19; Report at line 28; Step at line 24)");
        StringAssert.Contains(warning, "print from one stage");
    }

    [TestMethod]
    public void Work_inside_try_catch_stays_synchronous_and_what_it_leaves_for_the_end_is_handed_to_a_stage()
    {
        var map = StageMap.Of("TryCatchAround");
        PlanAssert.SameSet(["Finish: Finish"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.Main -> Program.Work @15: sync", "Program.Main -> Program.Finish @21: cut"], map.Sites, "call sites");
        // The source fills them (through Work) before its post to Finish, which only reads them: frozen, and across
        // processes they travel in Finish's seed.
        PlanAssert.SameSet(["WEAV010@15", "WEAV026@15", "WEAV026@15"], map.DiagnosticLines, "diagnostics");
        PlanAssert.SameSet(["Program.done: frozen", "Program.failures: frozen"], map.Placements, "placements");
        CollectionAssert.AreEquivalent(new[] { "Program.done", "Program.failures" }, map.Groups.Single().Seeded);
    }

    [TestMethod]
    public void A_program_with_nothing_to_cut_is_not_rewritten_and_keeps_no_reference_it_does_not_need()
    {
        var map = StageMap.Of("NothingToCut");
        PlanAssert.SameSet(["WEAV010@11", "WEAV004@0"], map.DiagnosticLines, "diagnostics");
        var fixture = Infrastructure.Fixtures.Get("NothingToCut");
        using var woven = Mono.Cecil.ModuleDefinition.ReadModule(fixture.WovenDll);
        Assert.IsFalse(woven.Assembly.CustomAttributes.Any(a => a.AttributeType.Namespace == "Weaving.Woven"), "not marked woven");
        Assert.IsFalse(woven.Types.Any(t => t.Name.StartsWith('<') && t.Name.EndsWith("State")), "no state objects");
        Assert.IsFalse(woven.AssemblyReferences.Any(r => r.Name == "Weaver"), "the compiler did not reference Weaver.dll, nor did the weaver");
    }
}
