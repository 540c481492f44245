namespace Weaving.Tests.Plans;

/// <summary>
/// README section 1, "arguments": which argument types travel in a message (TestAssemblies/Arguments, one handler per
/// shape), which of them are immutable (handed over without a copy nor an ownership check), and the warning, naming
/// the type and why, for an argument that cannot travel.
/// </summary>
[TestClass]
public sealed class ArgumentPlanTests
{
    /// <summary>Every shape: its handler, the line of Main that calls it, whether its message is copied in memory.</summary>
    public static IEnumerable<object[]> Shapes =>
    [
        // multi-dimensional (rank 2, empty, rank 3 with a null) and jagged arrays: arrays can change, so they are copied
        ["OnGrid", 21, true], ["OnEmptyGrid", 22, true], ["OnCube", 23, true], ["OnJagged", 24, true],
        // the mutable collections of System.Collections.Generic
        ["OnSet", 25, true], ["OnQueue", 26, true], ["OnStack", 27, true], ["OnSortedDictionary", 28, true],
        ["OnSortedList", 29, true], ["OnSortedSet", 30, true], ["OnLinkedList", 31, true],
        // System.Collections.Immutable of immutable elements: shared, never copied
        ["OnImmutableArray", 32, false], ["OnDefaultImmutableArray", 33, false], ["OnImmutableList", 34, false],
        ["OnImmutableDictionary", 35, false], ["OnImmutableHashSet", 36, false], ["OnImmutableSorted", 37, false],
        ["OnImmutableQueue", 38, false], ["OnImmutableStack", 39, false],
        // tuples are as immutable as what they hold: a tuple of a List, a KeyValuePair of an array are copied
        ["OnValueTuple", 40, false], ["OnNamedTuple", 41, true], ["OnLongTuple", 42, false], ["OnTuple", 43, true],
        ["OnNumbers", 44, false], ["OnMaybe", 45, false],
        // a record and a struct made of those, nested collections
        ["OnInventory", 46, true], ["OnCell", 47, true], ["OnNested", 48, true], ["OnPop", 49, true],
    ];

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void Each_argument_shape_travels_its_call_is_cut_and_it_is_copied_only_when_it_can_change(string handler, int line, bool copied)
    {
        var map = StageMap.Of("Arguments");
        PlanAssert.SameSet([$"Program.Main -> Program.{handler} @{line}: cut"], map.Sites.Where(s => s.Contains($"Program.{handler} @")), "call sites");
        Assert.AreEqual(copied, map.Stage(handler).CopyArguments, $"{handler}: copyArguments");
    }

    [TestMethod]
    public void The_plan_is_every_shape_cut_into_the_console_group_and_the_four_that_cannot_travel_kept_synchronous()
    {
        var map = StageMap.Of("Arguments");
        PlanAssert.SameSet(
        [
            .. Shapes.Select(s => $"Program.Main -> Program.{s[0]} @{s[1]}: cut"),
            "Program.OnPop -> Program.OnPopped @70: cut",
            "Program.Main -> Program.OnByPosition @16: sync", "Program.Main -> Program.OnPoint @17: sync",
            "Program.Main -> Program.OnHandle @18: sync", "Program.Main -> Program.OnBag @19: sync",
        ], map.Sites, "call sites");
        // Every handler prints but OnPop, which hands the stack it changed on to OnPopped: a stage-to-stage hop.
        PlanAssert.SameSet(
        [
            "OnPop: OnPop",
            "OnGrid: " + string.Join(", ", Shapes.Select(s => (string)s[0]).Where(h => h != "OnPop").Append("OnPopped").Order(StringComparer.Ordinal)),
        ], map.GroupLayout, "groups");
        Assert.IsTrue(map.Stage("OnPopped").CopyArguments, "OnPopped receives a stack: copied");
        PlanAssert.SameSet(["WEAV012@16", "WEAV012@17", "WEAV012@18", "WEAV012@19", "WEAV021@58", "WEAV021@169"],
            map.DiagnosticLines.Where(d => !d.StartsWith("WEAV023")), "diagnostics other than barriers");
    }

    [TestMethod]
    public void An_argument_that_cannot_travel_is_named_in_the_warning_with_why()
    {
        var map = StageMap.Of("Arguments");
        string At(int line) => map.Diagnostics.Single(d => d.Id == "WEAV012" && d.Line == line).Message;
        StringAssert.Contains(At(16), "Dictionary<ValueTuple<Int32, Int32>, String>: its keys (ValueTuple<Int32, Int32>) are not strings, numbers, enums");
        StringAssert.Contains(At(17), "FixedPoint.X is read-only and FixedPoint is a struct, which the receiver creates empty: it would arrive as its default");
        StringAssert.Contains(At(18), "IntPtr is a native-sized integer, often a handle to something in this process");
        StringAssert.Contains(At(19), "System.Collections.Concurrent.ConcurrentBag<Int32> is a framework type that messages do not round-trip exactly");
    }
}
