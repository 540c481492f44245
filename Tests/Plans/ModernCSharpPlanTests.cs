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
    [TestMethod]
    public void Objects_an_async_Main_makes_and_keeps_in_locals_get_fields_of_their_own_and_their_methods_are_handlers()
    {
        var map = StageMap.Of("SourceObjects");
        PlanAssert.SameSet(
        [
            "Program.Main -> Meter.OnSample @50: cut", "Program.Main -> Tally.OnChannel @51: cut",
            "Meter.OnSample -> Program.OnSummary @21: cut",
        ], map.Sites, "call sites");
        PlanAssert.SameSet(["OnSample: OnSample", "OnChannel: OnChannel", "OnSummary: OnSummary"], map.GroupLayout, "groups");
        // Made by Main (the meter from its arguments): sent to where its group runs, and read back after the feed.
        foreach (var (group, field) in new[] { ("OnSample", "Program.<meter>object"), ("OnChannel", "Program.<tally>object") })
        {
            Assert.AreEqual("owned", map.Fields.Single(f => f.Name == field).Placement, field);
            CollectionAssert.AreEqual(new[] { field }, map.Groups.Single(g => g.Name == group).Seeded, group);
            CollectionAssert.AreEqual(new[] { field }, map.Groups.Single(g => g.Name == group).Results, group);
        }
    }
    [TestMethod]
    public void Each_instantiation_of_a_generic_handler_the_assembly_calls_is_a_handler_of_its_own()
    {
        var map = StageMap.Of("GenericHandlers");
        PlanAssert.SameSet(
        [
            "Program.Main -> Program.OnItem_Int32 @15: cut", "Program.Main -> Program.OnItem_String @16: cut",
            "Program.Main -> Program.OnItem_Int32Array @17: cut", "Program.Main -> Program.OnItem_DateTime @19: cut",
            "Program.OnItem_Int32 -> Program.OnDescribed @26: cut", "Program.OnItem_String -> Program.OnDescribed @26: cut",
            "Program.OnItem_Int32Array -> Program.OnDescribed @26: cut", "Program.OnItem_DateTime -> Program.OnDescribed @26: cut",
        ], map.Sites, "call sites");
        // Each has a closed message type of its own: a host reads no type argument from the wire.
        Assert.AreEqual(4, map.Stages.Count(s => s.Name.StartsWith("OnItem_", StringComparison.Ordinal)));
        Assert.IsFalse(map.Diagnostics.Any(d => d.Id == "WEAV016"), string.Join("; ", map.DiagnosticLines));
    }
    [TestMethod]
    public void An_object_every_call_passes_to_a_handler_does_not_travel_and_its_methods_are_handlers_too()
    {
        var map = StageMap.Of("PassedObjects");
        PlanAssert.SameSet(
        [
            "Program.Main -> Program.OnTransfer @27: cut", "Program.OnTransfer -> Program.OnPosting @35: cut",
            "Program.OnTransfer -> Program.OnPosting @36: cut", "Program.OnPosting -> Ledger.Post @39: cut",
        ], map.Sites, "call sites");
        // Only the ledger's own method touches its state: the handlers that pass it on run apart from it.
        PlanAssert.SameSet(["OnTransfer: OnTransfer", "OnPosting: OnPosting", "Post: Post"], map.GroupLayout, "groups");
        Assert.AreEqual("owned", map.Fields.Single(f => f.Name == "Program.<ledger>object").Placement);
        CollectionAssert.AreEqual(new[] { "Program.<ledger>object" }, map.Groups.Single(g => g.Name == "Post").Seeded);
    }
    [TestMethod]
    public void A_sensor_gateway_in_top_level_statements_weaves_its_async_loop_handler_and_detector_into_stages()
    {
        // Written as one would today (top-level statements, an async read loop, an async handler given the detector,
        // an EventHandler<T> event with a method of another object and a printing lambda); it taught the weaver that an
        // object every call passes need not travel, and that an event's sender a subscriber ignores need not either.
        var map = StageMap.Of("SensorGateway");
        PlanAssert.SameSet(
        [
            "Program.<Main>$ -> Gateway.OnLineAsync @24: cut", "Gateway.OnLineAsync -> SpikeDetector.OnReading @55: cut",
            "SpikeDetector.OnReading -> AlertLog.OnSpike @79: sync",
        ], map.Sites, "call sites");
        // The alert log is subscribed before the printing lambda, which runs after it: logging stays in order with it.
        Assert.AreEqual("effectAfter", map.CallSites.Single(c => c.Callee == "AlertLog.OnSpike").Rule);
        PlanAssert.SameSet(["OnLineAsync: OnLineAsync", "OnReading: OnReading"], map.GroupLayout, "groups");
        CollectionAssert.AreEquivalent(new[] { "Program.<alerts>object", "Program.<detector>object" }, map.Groups.Single(g => g.Name == "OnReading").Seeded);
    }
    [TestMethod]
    public void A_login_monitor_with_await_foreach_weaves_into_the_stages_a_reader_would_draw()
    {
        // An async stream read with await foreach (its disposal is an await in a finally, which the compiler lowers to a
        // catch of System.Object and a rethrow: a finally, not a catch), an async handler per line, a detector object
        // with its own state, and its event subscribed by a method of another object and a printing lambda.
        var map = StageMap.Of("AccessMonitor");
        PlanAssert.SameSet(
        [
            "Program.Main -> Program.HandleLineAsync @70: cut", "Program.HandleLineAsync -> BruteForceDetector.Observe @86: cut",
            "BruteForceDetector.Observe -> AuditTrail.Record @44: cut",
        ], map.Sites, "call sites");
        PlanAssert.SameSet(["HandleLineAsync: HandleLineAsync", "Observe: Observe", "Record: Record"], map.GroupLayout, "groups");
        CollectionAssert.AreEqual(new[] { "AccessMonitor.Program.<detector>object" }, map.Groups.Single(g => g.Name == "Observe").Seeded);
        CollectionAssert.AreEqual(new[] { "AccessMonitor.Program.<audit>object" }, map.Groups.Single(g => g.Name == "Record").Results);
    }
    [TestMethod]
    public void A_price_watcher_with_init_only_event_arguments_weaves_its_async_chain_and_tracker_into_stages()
    {
        // Its event's arguments are built with an object initializer of init-only properties, whose setters return
        // "modreq(IsExternalInit) void": read as returning a value, they had the analysis lose track of the stack.
        var map = StageMap.Of("PriceWatch");
        PlanAssert.SameSet(
        [
            "Program.<Main>$ -> Feed.OnLineAsync @20: cut", "Feed.OnLineAsync -> Feed.OnTickAsync @53: cut",
            "Feed.OnTickAsync -> BandTracker.Update @59: cut", "BandTracker.Update -> AlertStore.OnBreakout @81: sync",
        ], map.Sites, "call sites");
        PlanAssert.SameSet(["OnLineAsync: OnLineAsync", "OnTickAsync: OnTickAsync", "Update: Update"], map.GroupLayout, "groups");
        CollectionAssert.AreEquivalent(new[] { "Program.<store>object", "Program.<tracker>object" }, map.Groups.Single(g => g.Name == "Update").Seeded);
    }
    [TestMethod]
    public void A_warehouse_scanner_written_last_weaves_into_the_stages_a_reader_would_draw_without_a_change_to_the_weaver()
    {
        // Written after every change to the weaver and not changed for it: an async read loop, async handlers, an
        // inventory object with its own state held by a static field, and an event (its own delegate type) for low stock,
        // subscribed by a static method and a printing lambda.
        var map = StageMap.Of("Warehouse");
        PlanAssert.SameSet(
        [
            "Program.Main -> Program.OnRawScanAsync @54: cut", "Program.OnRawScanAsync -> Program.OnScanAsync @70: cut",
            "Program.OnScanAsync -> Inventory.Apply @77: cut", "Inventory.Apply -> Program.OnLowStock @36: cut",
        ], map.Sites, "call sites");
        PlanAssert.SameSet(
            ["OnRawScanAsync: OnRawScanAsync", "OnScanAsync: OnScanAsync", "Apply: Apply", "OnLowStock: OnLowStock"], map.GroupLayout, "groups");
        // The inventory is the Apply group's state, read back by Main after the feed; each group keeps checkpoints.
        CollectionAssert.AreEqual(new[] { "Warehouse.Program.Stock" }, map.Groups.Single(g => g.Name == "Apply").Results);
        Assert.IsFalse(map.Diagnostics.Any(d => d.Severity == "warning"), string.Join("; ", map.DiagnosticLines));
    }
}
