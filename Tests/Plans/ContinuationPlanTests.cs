namespace Weaving.Tests.Plans;

/// <summary>
/// docs/design.md §2: which calls are continuations. The must and must-not examples, the shapes the rule has to see
/// through, and every pattern that stays synchronous with a warning at its line.
/// </summary>
[TestClass]
public sealed class ContinuationPlanTests
{
    static readonly string[] mainCalls =
    [
        "OnTail @26", "OnFanOut @27", "OnCountedLine @28", "OnFanOutThenEnd @29", "OnBranch @30", "OnBranch @31", "OnSwitch @32", "OnSwitch @33",
        "OnSwitch @34", "OnArray @35", "OnList @36", "OnIterator @37", "OnForLoop @38", "OnComputed @39", "OnOverload @40", "OnOverload @41",
        "OnSetLevel @42", "OnLocalFunction @43", "OnThenPrint @44", "OnReport @45",
    ];

    [TestMethod]
    public void The_must_examples_of_the_design_are_cut_and_the_call_followed_by_a_print_is_not()
    {
        var map = StageMap.Of("MustExamples");
        PlanAssert.SameSet(
        [
            .. mainCalls.Select(c => $"Program.Main -> Program.{c}: cut"),
            // a tail call; a fan-out; counters of the caller's own state around a fan-out; a fan-out followed by OnEnd()
            "Program.OnTail -> Program.OnResult @49: cut", "Program.OnFanOut -> Program.OnWord @53: cut",
            "Program.OnCountedLine -> Program.OnWord @59: cut", "Program.OnCountedLine -> Program.OnResult @61: cut",
            "Program.OnFanOutThenEnd -> Program.OnWord @66: cut", "Program.OnFanOutThenEnd -> Program.OnEnd @67: cut",
            // if/else and switch branches ending in different continuations
            "Program.OnBranch -> Program.OnEven @72: cut", "Program.OnBranch -> Program.OnOdd @73: cut",
            "Program.OnSwitch -> Program.OnResult @80: cut", "Program.OnSwitch -> Program.OnEven @81: cut", "Program.OnSwitch -> Program.OnOdd @82: cut",
            // fan-outs over an array, a List<T>, an iterator (try/finally disposing it), a for loop; computed arguments; overloads
            "Program.OnArray -> Program.OnResult @88: cut", "Program.OnList -> Program.OnWord @93: cut", "Program.OnIterator -> Program.OnResult @98: cut",
            "Program.OnForLoop -> Program.OnResult @103: cut", "Program.OnComputed -> Program.OnPair @106: cut",
            "Program.OnOverload -> Program.OnResult @108: cut", "Program.OnOverload -> Program.OnResult @110: cut",
            // must not: the call is followed by Console.WriteLine
            "Program.OnThenPrint -> Program.OnPrinted @126: sync",
            "Program.OnWord -> Program.OnResult @130: cut", "Program.OnEnd -> Program.OnResult @132: cut", "Program.OnEven -> Program.OnResult @134: cut",
            "Program.OnOdd -> Program.OnResult @136: cut", "Program.OnPair -> Program.OnResult @138: cut",
        ], map.Sites, "call sites");
        var sync = map.Diagnostics.Single(d => d.Id == "WEAV011");
        Assert.AreEqual(126, sync.Line);
        StringAssert.Contains(sync.Message, "the console (line 127), which the handler also writes to");
    }

    [TestMethod]
    public void Calls_inside_a_property_accessor_or_a_local_function_are_synchronous_code_of_the_stage_that_runs_them()
    {
        var map = StageMap.Of("MustExamples");
        Assert.IsFalse(map.CallSites.Any(c => c.Caller.Contains("set_Level") || c.Caller.Contains("Emit")),
            "only the source and stages have cut call sites: " + string.Join(", ", map.Sites));
        Assert.IsFalse(map.Stages.Any(s => s.Name.Contains("Level") && s.Name != "OnSetLevel" || s.Name.Contains("Emit")));
        // Their footprint is the stage's: both reach OnResult's list, so they fuse with it.
        var results = map.Groups.Single(g => g.Stages.Contains("OnResult"));
        CollectionAssert.IsSubsetOf(new[] { "OnSetLevel", "OnLocalFunction" }, results.Stages.ToArray());
    }

    [TestMethod]
    public void Overloaded_handlers_are_two_stages_named_by_their_parameter_types()
    {
        var map = StageMap.Of("MustExamples");
        PlanAssert.SameSet(["OnOverload_Int32", "OnOverload_String"], map.Stages.Select(s => s.Name).Where(n => n.StartsWith("OnOverload")), "overload stages");
        PlanAssert.SameSet(["OnResult"], map.Stage("OnOverload_Int32").Next, "OnOverload(int) hands on to");
        PlanAssert.SameSet(["OnResult"], map.Stage("OnOverload_String").Next, "OnOverload(string) hands on to");
    }

    [TestMethod]
    public void Stages_reaching_one_collector_fuse_by_the_join_rule_and_the_rest_stay_groups_of_their_own()
    {
        var map = StageMap.Of("MustExamples");
        PlanAssert.SameSet(
        [
            "OnTail: OnTail", "OnFanOut: OnFanOut", "OnSwitch: OnSwitch", "OnArray: OnArray", "OnList: OnList", "OnIterator: OnIterator",
            "OnForLoop: OnForLoop", "OnComputed: OnComputed", "OnOverload_Int32: OnOverload_Int32", "OnOverload_String: OnOverload_String",
            "OnPair: OnPair",
            "OnCountedLine: OnBranch, OnCountedLine, OnEnd, OnEven, OnFanOutThenEnd, OnLocalFunction, OnOdd, OnReport, OnResult, OnSetLevel, OnThenPrint, OnWord",
        ], map.GroupLayout, "groups");
        PlanAssert.SameSet(["Program.characters: owned OnCountedLine", "Program.level: owned OnCountedLine", "Program.lines: owned OnCountedLine",
            "Program.results: shared OnCountedLine"], map.Placements, "placements");
        PlanAssert.SameSet(["WEAV021@145", "WEAV021@149", "WEAV022@59", "WEAV022@67", "WEAV022@72", "WEAV011@126"],
            map.DiagnosticLines.Where(d => !d.StartsWith("WEAV023")), "diagnostics other than barriers");
    }

    [TestMethod]
    public void Each_pattern_that_is_not_cut_gets_its_own_warning_at_the_calls_line()
    {
        var map = StageMap.Of("Unsupported");
        PlanAssert.SameSet(["OnReport: OnReport"], map.GroupLayout, "groups");
        PlanAssert.SameSet(
        [
            "WEAV010@16",                               // inside try/catch
            "WEAV011@20", "WEAV011@28", "WEAV011@29",   // an effect after the call
            "WEAV012@22", "WEAV012@23", "WEAV012@24",   // a delegate, a stream, a task cannot travel
            "WEAV017@26", "WEAV017@27",                 // ref, out
            "WEAV016@31", "WEAV016@33", "WEAV016@34", "WEAV016@36", "WEAV016@38", // instance, async void, lambda, method group, generic
        ], map.DiagnosticLines, "diagnostics");
        Assert.IsTrue(map.Diagnostics.All(d => d.Severity == "warning" && d.File!.EndsWith("Program.cs")));
        string At(int line) => map.Diagnostics.Single(d => d.Line == line).Message;
        StringAssert.Contains(At(16), "try block with a catch");
        StringAssert.Contains(At(22), "delegate");
        StringAssert.Contains(At(23), "stream");
        StringAssert.Contains(At(24), "task");
        StringAssert.Contains(At(26), "ref or out");
        StringAssert.Contains(At(29), "the console");
        StringAssert.Contains(At(31), "instance handlers are cut only on such objects");
        StringAssert.Contains(At(33), "it is async void (an async handler returns Task or ValueTask)");
        StringAssert.Contains(At(34), "lambdas passed as callbacks are not supported yet");
        StringAssert.Contains(At(36), "handlers passed as callbacks are not supported yet");
        StringAssert.Contains(At(38), "it is generic, and async or called with a type parameter");
    }

    [TestMethod]
    public void Phase_two_patterns_are_reported_once_per_method()
    {
        var map = StageMap.Of("Unsupported");
        // OnTick is called twice (lines 31, 32) and OnGenericItem twice (lines 38, 39): one warning each.
        Assert.AreEqual(1, map.Diagnostics.Count(d => d.Id == "WEAV016" && d.Message.Contains("OnTick")));
        Assert.AreEqual(1, map.Diagnostics.Count(d => d.Id == "WEAV016" && d.Message.Contains("OnGenericItem")));
        PlanAssert.SameSet(["Program.Main -> Program.OnGenericItem @38: sync", "Program.Main -> Program.OnGenericItem @39: sync"],
            map.Sites.Where(s => s.Contains("OnGenericItem")), "generic call sites");
    }

    [TestMethod]
    public void Recursive_quicksort_sharing_its_array_is_not_cut_and_the_handler_given_the_array_afterwards_is()
    {
        var map = StageMap.Of("QuickSort");
        PlanAssert.SameSet(["Program.Main -> Program.QuickSort @12: sync", "Program.Main -> Program.OnSorted @13: cut"], map.Sites, "call sites");
        PlanAssert.SameSet(["OnSorted: OnSorted"], map.GroupLayout, "groups");
        PlanAssert.SameSet(["WEAV013@12"], map.DiagnosticLines, "diagnostics");
        StringAssert.Contains(map.Diagnostics.Single().Message, "the caller uses it again after the call (line 13)");
        Assert.IsFalse(map.Stages.Any(s => s.Name == "QuickSort"), "code called synchronously is never cut");
    }

    [TestMethod]
    public void A_feed_whose_enumerator_runs_code_that_prints_or_sets_what_the_handler_reads_stays_synchronous()
    {
        // Moving an enumerator on runs the program's iterator, enumerator class or LINQ lambda after each post: printing
        // there, or setting a field the handler reads, must keep its order (woven before, the Countdown's cursor read 0
        // and the mapped lines came after every "map" line once the messages hopped). A pure iterator's feed is cut.
        var map = StageMap.Of("IteratorEffects");
        var sites = map.SitesIn("Program.Main");
        foreach (var kept in new[] { "Program.OnRead", "Program.OnPositioned", "Program.OnTick", "Program.OnMapped" })
        {
            Assert.IsFalse(sites[kept].Cut, kept);
            Assert.AreEqual("effectAfter", sites[kept].Rule, kept);
        }
        Assert.IsTrue(sites["Program.OnPure"].Cut, "a feed from an iterator that touches nothing the handler does");
        Assert.IsTrue(sites["Program.OnEnd"].Cut, "OnEnd");
        StringAssert.Contains(map.Diagnostics.Single(d => d.Id == "WEAV011" && d.Line == 64).Message,
            "after it the caller calls an enumerator's MoveNext, which runs Program.Reading (line 64), which writes to the console");
    }
}
