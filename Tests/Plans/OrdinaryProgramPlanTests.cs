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
    public void Work_inside_try_catch_stays_synchronous_and_a_program_with_nothing_to_cut_is_left_as_it_is()
    {
        var map = StageMap.Of("TryCatchAround");
        PlanAssert.SameSet([], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.Main -> Program.Work @15: sync", "Program.Main -> Program.Finish @21: sync"], map.Sites, "call sites");
        PlanAssert.SameSet(["WEAV020@29", "WEAV020@33", "WEAV010@15", "WEAV015@21", "WEAV004@0"], map.DiagnosticLines, "diagnostics");
        Assert.AreEqual("info", map.Diagnostics.Single(d => d.Id == "WEAV004").Severity);
    }

    [TestMethod]
    public void A_program_with_nothing_to_cut_is_not_rewritten_and_keeps_no_reference_it_does_not_need()
    {
        var fixture = Infrastructure.Fixtures.Get("TryCatchAround");
        using var woven = Mono.Cecil.ModuleDefinition.ReadModule(fixture.WovenDll);
        Assert.IsFalse(woven.Assembly.CustomAttributes.Any(a => a.AttributeType.Namespace == "Weaving.Woven"), "not marked woven");
        Assert.IsFalse(woven.Types.Any(t => t.Name.StartsWith('<') && t.Name.EndsWith("State")), "no state objects");
        Assert.IsFalse(woven.AssemblyReferences.Any(r => r.Name == "Weaver"), "the compiler did not reference Weaver.dll, nor did the weaver");
    }
}
