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
        ["OnGrid", 24, true], ["OnEmptyGrid", 25, true], ["OnCube", 26, true], ["OnJagged", 27, true],
        // the mutable collections of System.Collections.Generic
        ["OnSet", 28, true], ["OnQueue", 29, true], ["OnStack", 30, true], ["OnSortedDictionary", 31, true],
        ["OnSortedList", 32, true], ["OnSortedSet", 33, true], ["OnLinkedList", 34, true],
        // System.Collections.Immutable of immutable elements: shared, never copied
        ["OnImmutableArray", 35, false], ["OnDefaultImmutableArray", 36, false], ["OnImmutableList", 37, false],
        ["OnImmutableDictionary", 38, false], ["OnImmutableHashSet", 39, false], ["OnImmutableSorted", 40, false],
        ["OnImmutableQueue", 41, false], ["OnImmutableStack", 42, false],
        // tuples are as immutable as what they hold: a tuple of a List, a KeyValuePair of an array are copied
        ["OnValueTuple", 43, false], ["OnNamedTuple", 44, true], ["OnLongTuple", 45, false], ["OnTuple", 46, true],
        ["OnNumbers", 47, false], ["OnMaybe", 48, false],
        // a record and a struct made of those, nested collections
        ["OnInventory", 49, true], ["OnCell", 50, true], ["OnNested", 51, true], ["OnPop", 52, true],
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
            "Program.OnPop -> Program.OnPopped @74: cut",
            "Program.Main -> Program.OnLabel @53: cut", "Program.OnLabel -> Program.OnLabelled @80: cut",
            "Program.Main -> Program.OnByPosition @19: sync", "Program.Main -> Program.OnPoint @20: sync",
            "Program.Main -> Program.OnHandle @21: sync", "Program.Main -> Program.OnBag @22: sync",
        ], map.Sites, "call sites");
        // Every handler prints but OnPop, which hands the stack it changed on to OnPopped: a stage-to-stage hop.
        PlanAssert.SameSet(
        [
            "OnPop: OnPop",
            "OnGrid: " + string.Join(", ", Shapes.Select(s => (string)s[0]).Where(h => h != "OnPop").Concat(["OnPopped", "OnLabel", "OnLabelled"]).Order(StringComparer.Ordinal)),
        ], map.GroupLayout, "groups");
        Assert.IsTrue(map.Stage("OnPopped").CopyArguments, "OnPopped receives a stack: copied");
        PlanAssert.SameSet(["Program.label: shared OnGrid"], map.Placements, "placements");
        // WEAV029 at label's declaration: the group that holds it keeps no checkpoints (CheckpointPlanTests).
        PlanAssert.SameSet(["WEAV012@19", "WEAV012@20", "WEAV012@21", "WEAV012@22", "WEAV021@62", "WEAV021@82", "WEAV021@179", "WEAV029@15"],
            map.DiagnosticLines.Where(d => !d.StartsWith("WEAV023")), "diagnostics other than barriers");
    }

    [TestMethod]
    public void An_argument_that_cannot_travel_is_named_in_the_warning_with_why()
    {
        var map = StageMap.Of("Arguments");
        string At(int line) => map.Diagnostics.Single(d => d.Id == "WEAV012" && d.Line == line).Message;
        StringAssert.Contains(At(19), "Dictionary<ValueTuple<Int32, Int32>, String>: its keys (ValueTuple<Int32, Int32>) are not strings, numbers, enums");
        StringAssert.Contains(At(20), "FixedPoint.X is read-only and FixedPoint is a struct, which the receiver creates empty: it would arrive as its default");
        StringAssert.Contains(At(21), "IntPtr is a native-sized integer, often a handle to something in this process");
        StringAssert.Contains(At(22), "System.Collections.Concurrent.ConcurrentBag<Int32> is a framework type that messages do not round-trip exactly");
    }

    [TestMethod]
    public void A_field_of_an_immutable_type_that_cannot_travel_is_shared_by_its_stages_not_streamed_in_their_messages()
    {
        // Label is immutable, but its text is private: streamed, it would arrive empty.
        var map = StageMap.Of("Arguments");
        var label = map.Field("Program.label");
        Assert.AreEqual("shared", label.Placement, label.Reason);
        Assert.AreEqual("touched by OnLabel, OnLabelled", label.Reason);
        Assert.AreEqual(map.Stage("OnLabelled").Group, map.Stage("OnLabel").Group);
        Assert.AreEqual(0, map.Stage("OnLabelled").Carries.Length);
    }

    [TestMethod]
    public void A_value_declared_as_a_type_the_program_derives_from_is_not_cut_and_the_warning_says_what_it_would_arrive_as()
    {
        // A message recreates its value as the declared type: a Circle handed over as a Shape would print as a plain
        // shape once it hopped (a program nobody wrote for the weaver did). Types nothing derives from still travel.
        var map = StageMap.Of("DerivedArguments");
        var sites = map.SitesIn("Program.Main");
        foreach (var kept in new[] { "Program.OnShape", "Program.OnEvent", "Program.OnDrawing" })
        {
            Assert.IsFalse(sites[kept].Cut, kept);
            Assert.AreEqual("cannotTravel", sites[kept].Rule, kept);
        }
        foreach (var cut in new[] { "Program.OnPaid", "Program.OnCircle", "Program.OnEnd" })
            Assert.IsTrue(sites[cut].Cut, cut);
        string At(int line) => map.Diagnostics.Single(d => d.Id == "WEAV012" && d.Line == line).Message;
        StringAssert.Contains(At(51), "Shape has derived types (Circle): a message recreates a value as the type its parameter declares, so a Circle would arrive as a Shape");
        StringAssert.Contains(At(52), "Event has derived types (Paid)");
        StringAssert.Contains(At(54), "Drawing.Shapes: Shape has derived types (Circle)");
    }

    [TestMethod]
    public void A_new_object_holding_one_the_caller_does_not_own_is_not_handed_over()
    {
        // new Order(i, customers[name], amount): the order is new, the customer in it is the table's. Handed over, the
        // order arrives as a copy with a copy of the customer: the handler's updates to it were lost (all customers
        // printed 0 orders once the messages hopped). A new order holding a new customer is still cut.
        var map = StageMap.Of("HeldObjects");
        var sites = map.SitesIn("Program.Main");
        Assert.IsFalse(sites["Program.OnOrder"].Cut);
        Assert.AreEqual("notOwned", sites["Program.OnOrder"].Rule);
        StringAssert.Contains(sites["Program.OnOrder"].Reason, "it holds 'customer': it is an element of a collection (get_Item)");
        Assert.IsTrue(sites["Program.OnNewCustomer"].Cut, "a new order holding a new customer");
    }
}
