namespace Weaving.Tests.Plans;

/// <summary>
/// docs/design.md §3: every static field gets one placement (constant, owned, streamed, shared), and stages that share
/// state fuse. Each test reads the plan the build wrote for one fixture.
/// </summary>
[TestClass]
public sealed class StatePlacementPlanTests
{
    [TestMethod]
    public void Owned_fields_move_into_the_one_stage_that_touches_them_and_nothing_fuses()
    {
        var map = StageMap.Of("Owned");
        PlanAssert.SameSet(["OnNumber: OnNumber", "OnSquare: OnSquare"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.count: owned OnNumber", "Program.evens: owned OnSquare", "Program.squares: owned OnSquare",
            "Program.sum: owned OnNumber"], map.Placements, "placements");
        Assert.IsTrue(map.UserFields.All(f => f.Moved), "owned fields move into their group's state object");
        PlanAssert.SameSet(["Program.Main -> Program.OnNumber @15: cut", "Program.Main -> Program.OnNumber @16: cut",
            "Program.OnNumber -> Program.OnSquare @23: cut", "Program.OnNumber -> Program.OnSquare @28: cut"], map.Sites, "call sites");
        PlanAssert.SameSet([], map.DiagnosticLines, "diagnostics");
    }

    [TestMethod]
    public void Fields_written_only_by_the_type_initializer_stay_constant_but_a_readonly_array_a_handler_fills_is_owned()
    {
        var map = StageMap.Of("Constant");
        PlanAssert.SameSet(["OnDigit: OnDigit", "OnName: OnName"], map.GroupLayout, "groups");
        // Array.IndexOf and Dictionary.TryGetValue only read: Names and Weights stay constant, so the two stages do not fuse.
        PlanAssert.SameSet(["Program.Factor: constant", "Program.Histogram: owned OnName", "Program.Names: constant",
            "Program.Weights: constant", "Program.total: owned OnName"], map.Placements, "placements");
        PlanAssert.SameSet(["WEAV023@17", "WEAV023@18"], map.DiagnosticLines, "diagnostics");
    }

    [TestMethod]
    public void A_field_written_by_one_stage_before_every_reader_is_streamed_through_the_stage_between()
    {
        var map = StageMap.Of("Streamed");
        PlanAssert.SameSet(["OnLine: OnLine", "OnEntry: OnEntry", "OnRecord: OnRecord"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.lines: owned OnLine", "Program.records: owned OnRecord", "Program.section: streamed OnLine"],
            map.Placements, "placements");
        var section = map.Field("Program.section");
        Assert.AreEqual("OnLine", section.Writer);
        PlanAssert.SameSet(["OnRecord"], section.Readers, "readers of section");
        PlanAssert.SameSet(["OnEntry", "OnRecord"], section.Carriers, "stages whose messages carry section");
        PlanAssert.SameSet(["Program.section"], map.Stage("OnEntry").Carries, "OnEntry's message");
        PlanAssert.SameSet(["Program.section"], map.Stage("OnRecord").Carries, "OnRecord's message");
        PlanAssert.SameSet([], map.Stage("OnLine").Carries, "OnLine's message");
        PlanAssert.SameSet(["Program.section"], map.Groups.Single(g => g.Name == "OnRecord").StreamedCopies, "OnRecord's copies");
        PlanAssert.SameSet(["Program.lines", "Program.section"], map.Groups.Single(g => g.Name == "OnLine").State, "the writer's state");
        PlanAssert.SameSet(["WEAV025@26"], map.DiagnosticLines, "diagnostics");
    }

    [TestMethod]
    public void Stages_that_change_one_field_fuse_with_a_warning_naming_the_field_the_stages_and_the_lines()
    {
        var map = StageMap.Of("Shared");
        PlanAssert.SameSet(["OnSubtract: OnAdd, OnReport, OnSubtract", "OnAudit: OnAudit"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.audited: owned OnAudit", "Program.balance: shared OnSubtract"], map.Placements, "placements");
        PlanAssert.SameSet(["WEAV021@22"], map.DiagnosticLines, "diagnostics");
        var warning = map.Diagnostics.Single().Message;
        StringAssert.Contains(warning, "Program.balance");
        StringAssert.Contains(warning, "OnSubtract at line 28; OnAdd at line 22; OnReport at line 34");
    }

    [TestMethod]
    public void The_source_reading_a_handlers_state_after_its_posts_waits_for_the_work_and_the_handler_is_a_stage()
    {
        var map = StageMap.Of("SourceReadsState");
        PlanAssert.SameSet(["OnValue: OnValue", "OnSummary: OnSummary"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.Main -> Program.OnValue @12: cut", "Program.Main -> Program.OnSummary @13: cut"], map.Sites, "call sites");
        PlanAssert.SameSet(["Program.total: owned OnValue"], map.Placements, "placements");
        PlanAssert.SameSet(["WEAV027@13"], map.DiagnosticLines, "diagnostics");
        CollectionAssert.AreEqual(new[] { "Program.total" }, map.Groups.Single(g => g.Name == "OnValue").Results);
    }

    [TestMethod]
    public void The_source_touching_a_handlers_state_between_its_posts_keeps_that_handler_synchronous_and_says_how_to_fix_it()
    {
        var map = StageMap.Of("NoCascade");
        Assert.IsTrue(map.CallSites.Where(c => c.Callee == "Program.Banner").All(c => c.Rule == "sharedWithSource"), string.Join(", ", map.Sites));
        var warning = map.Diagnostics.First(d => d.Id == "WEAV020");
        Assert.AreEqual("warning", warning.Severity);
        StringAssert.Contains(warning.Message, "Program.audited");
        StringAssert.Contains(warning.Message, "handler called at the end");
    }

    [TestMethod]
    public void Footprints_follow_helpers_properties_nested_and_generic_types_and_local_functions()
    {
        var map = StageMap.Of("Footprints");
        PlanAssert.SameSet(["OnHelper: OnHelper", "OnProperty: OnProperty", "OnNested: OnNested", "OnGeneric: OnGeneric",
            "OnLocal: OnLocal", "OnPrint: OnPrint"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.helped: owned OnHelper", "Program.local: owned OnLocal", "Program.tally: owned OnProperty",
            "Program/Cache`1.Hits: owned OnGeneric", "Program/Nested/Inner.Count: owned OnNested"], map.Placements, "placements");
        // A static field of a generic type has one copy per type argument: it stays static, which is safe as one group owns it.
        Assert.IsFalse(map.Field("Program/Cache`1.Hits").Moved);
        Assert.IsTrue(map.UserFields.Where(f => !f.Name.Contains('`')).All(f => f.Moved));
        PlanAssert.SameSet(["WEAV023@12", "WEAV023@13", "WEAV023@14", "WEAV023@15", "WEAV023@16", "WEAV030@59"], map.DiagnosticLines, "diagnostics");
    }

    [TestMethod]
    public void The_stage_map_lists_the_external_static_members_each_stage_calls()
    {
        var map = StageMap.Of("Constant");
        PlanAssert.SameSet(["System.Array.IndexOf", "System.Console.WriteLine", "System.String.Join"], map.Stage("OnName").ExternalCalls, "OnName's external calls");
        PlanAssert.SameSet([], map.Stage("OnDigit").ExternalCalls, "OnDigit's external calls");
    }
}
