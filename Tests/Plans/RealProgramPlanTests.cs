namespace Weaving.Tests.Plans;

/// <summary>
/// docs/design.md §2 and §3, as real programs need them: a call is cut only if nothing that runs after it, through every
/// way its method is entered, could tell; what the source sets up before its posts is frozen; what it reads after them
/// is read once the work is done; and a call kept synchronous for a reason of its own drags no other call along.
/// </summary>
[TestClass]
public sealed class RealProgramPlanTests
{
    [TestMethod]
    public void A_method_that_calls_itself_synchronously_and_prints_keeps_its_tail_call_synchronous()
    {
        var map = StageMap.Of("Recursive");
        PlanAssert.SameSet(
        [
            "Program.Main -> Program.Walk @11: cut",
            "Program.Walk -> Program.Walk @17: sync",
            "Program.Walk -> Program.Walk @19: sync",
        ], map.Sites, "call sites");
        CollectionAssert.AreEqual(new[] { "effectAfter", "effectAfterInCaller" },
            map.CallSites.Where(c => !c.Cut).OrderBy(c => c.Line).Select(c => c.Rule).ToArray());
        var tail = map.Diagnostics.Single(d => d.Id == "WEAV018");
        Assert.AreEqual(19, tail.Line);
        StringAssert.Contains(tail.Message, "also called synchronously by Program.Walk (line 17)");
    }

    [TestMethod]
    public void A_stage_also_called_synchronously_by_a_stage_that_prints_after_it_keeps_its_posts_synchronous()
    {
        var map = StageMap.Of("EnteredTwice");
        PlanAssert.SameSet(
        [
            "Program.Main -> Program.OnA @10: cut",
            "Program.Main -> Program.OnB @11: cut",
            "Program.OnA -> Program.OnB @16: sync",
            "Program.OnB -> Program.OnC @23: sync",
        ], map.Sites, "call sites");
        Assert.AreEqual("effectAfterInCaller", map.CallSites.Single(c => c.Callee == "Program.OnC").Rule);
        CollectionAssert.AreEquivalent(new[] { "OnA", "OnB" }, map.Stages.Select(s => s.Name).ToArray());
    }

    [TestMethod]
    public void Mutual_recursion_through_a_synchronous_call_keeps_the_other_call_synchronous()
    {
        var map = StageMap.Of("MutualRecursion");
        PlanAssert.SameSet(
        [
            "Program.Main -> Program.Even @10: cut",
            "Program.Main -> Program.Odd @11: cut",
            "Program.Even -> Program.Odd @17: sync",
            "Program.Odd -> Program.Even @25: sync",
        ], map.Sites, "call sites");
        Assert.AreEqual("effectAfterInCaller", map.CallSites.Single(c => c.Caller == "Program.Odd").Rule);
    }

    [TestMethod]
    public void Options_and_a_lookup_table_set_up_by_Main_are_frozen_and_their_readers_are_stages_of_their_own()
    {
        var map = StageMap.Of("FrozenOptions");
        PlanAssert.SameSet(
        [
            "Program.currency: frozen", "Program.prices: frozen", "Program.taxRate: frozen", "Program.threshold: frozen",
        ], map.Placements, "placements");
        PlanAssert.SameSet(["OnOrder: OnOrder", "OnPriced: OnPriced", "OnPrint: OnPrint"], map.GroupLayout, "groups");
        Assert.IsTrue(map.CallSites.All(c => c.Cut), string.Join(", ", map.Sites));
        // Across processes, the source sends what it set up to both reading groups before its first post.
        CollectionAssert.AreEquivalent(new[] { "OnOrder", "OnPriced" }, map.Stage("OnOrder").Seeds);
        CollectionAssert.AreEquivalent(new[] { "Program.prices", "Program.taxRate" }, map.Groups.Single(g => g.Name == "OnOrder").Seeded);
        Assert.AreEqual(4, map.Diagnostics.Count(d => d.Id == "WEAV026"), string.Join(", ", map.DiagnosticLines));
        Assert.IsFalse(map.Diagnostics.Any(d => d.Id is "WEAV015" or "WEAV020"), string.Join(", ", map.DiagnosticLines));
    }

    [TestMethod]
    public void Totals_that_Main_prints_after_the_feed_leave_the_handlers_stages_and_are_read_once_their_work_is_done()
    {
        var map = StageMap.Of("TotalsInMain");
        PlanAssert.SameSet(
        [
            "Program.byKind: owned OnSized", "Program.bytes: owned OnSized", "Program.events: owned OnEvent",
        ], map.Placements, "placements");
        PlanAssert.SameSet(["OnEvent: OnEvent", "OnSized: OnSized"], map.GroupLayout, "groups");
        Assert.IsTrue(map.CallSites.All(c => c.Cut), string.Join(", ", map.Sites));
        CollectionAssert.AreEquivalent(new[] { "Program.byKind", "Program.bytes" }, map.Groups.Single(g => g.Name == "OnSized").Results);
        CollectionAssert.AreEqual(new[] { "WEAV027@18", "WEAV027@18", "WEAV027@19" },
            map.Diagnostics.Where(d => d.Id == "WEAV027").Select(d => d.ToString()).Order(StringComparer.Ordinal).ToArray());
    }

    [TestMethod]
    public void State_Main_starts_before_the_feed_and_reads_after_it_is_the_handlers_and_travels_both_ways()
    {
        var map = StageMap.Of("StartThenTotals");
        PlanAssert.SameSet(["Program.balance: owned OnBooked", "Program.journal: owned OnBooked"], map.Placements, "placements");
        var group = map.Groups.Single(g => g.Name == "OnBooked");
        CollectionAssert.AreEquivalent(new[] { "Program.balance", "Program.journal" }, group.Seeded);
        CollectionAssert.AreEquivalent(new[] { "Program.balance", "Program.journal" }, group.Results);
        CollectionAssert.AreEqual(new[] { "OnBooked" }, map.Stage("OnDay").Seeds);
        PlanAssert.SameSet(["WEAV027@18", "WEAV027@19"], map.DiagnosticLines, "diagnostics");
    }

    [TestMethod]
    public void Collections_built_where_they_are_handed_on_after_an_earlier_post_leave_every_call_cut()
    {
        // A collection initializer, a list filled in a loop, a params-style array: each made after the earlier post (in a
        // loop, made again before each) and given away by the later one, so no earlier handler can see it.
        var map = StageMap.Of("FreshArguments");
        Assert.IsTrue(map.CallSites.All(c => c.Cut), string.Join(", ", map.Sites));
        PlanAssert.SameSet(["OnStart: OnStart", "OnList: OnList", "OnSquares: OnSquares", "OnNames: OnNames", "OnPrint: OnPrint"],
            map.GroupLayout, "groups");
        // All four reach the printer: the source drains between them, so the lines keep their order.
        CollectionAssert.Contains(map.BarrierPairs, "OnStart -> OnList");
    }

    [TestMethod]
    public void A_call_kept_synchronous_for_its_own_reason_does_not_keep_the_feed_synchronous()
    {
        var map = StageMap.Of("NoCascade");
        var feed = map.CallSites.Single(c => c.Callee == "Program.OnNumber");
        Assert.IsTrue(feed.Cut, string.Join(", ", map.Sites));
        Assert.AreEqual("inlineAttribute", map.CallSites.Single(c => c.Callee == "Program.Audit").Rule);
        Assert.IsTrue(map.CallSites.Single(c => c.Callee == "Program.OnEnd").Cut);
        Assert.IsFalse(map.Diagnostics.Any(d => d.Id == "WEAV011"), string.Join(", ", map.DiagnosticLines));
    }

    [TestMethod]
    public void Every_call_that_stays_synchronous_names_its_rule_and_the_diagnostic_id_follows_from_it()
    {
        foreach (var fixture in new[] { "Recursive", "EnteredTwice", "MutualRecursion", "MustExamples", "Unsupported", "TryCatchAround", "NoCascade" })
        {
            var map = StageMap.Of(fixture);
            foreach (var site in map.CallSites.Where(c => !c.Cut))
            {
                Assert.IsNotNull(site.Rule, $"{fixture}: {site.Caller} -> {site.Callee} @{site.Line} has no rule");
                var id = site.Rule switch
                {
                    "insideTryCatch" => "WEAV010", "effectAfter" => "WEAV011", "cannotTravel" => "WEAV012", "notOwned" => "WEAV013",
                    "inlineAttribute" or "excludeOption" => "WEAV014", "sharedWithSource" => "WEAV015", "notSupportedYet" => "WEAV016",
                    "refOrOut" => "WEAV017", "effectAfterInCaller" or "enteredFromAnywhere" => "WEAV018", "setsUpState" => "WEAV028",
                    _ => throw new AssertFailedException($"{fixture}: unknown rule {site.Rule}"),
                };
                // WEAV016 is reported once per method, at its first use.
                Assert.IsTrue(map.Diagnostics.Any(d => d.Id == id && (d.Line == site.Line || id == "WEAV016")),
                    $"{fixture}: {site.Caller} -> {site.Callee} @{site.Line} ({site.Rule}) has no {id} at its line: {string.Join(", ", map.DiagnosticLines)}");
            }
        }
    }

    [TestMethod]
    public void A_set_up_call_before_the_feed_stays_synchronous_so_its_tables_are_frozen_and_the_readers_run_apart()
    {
        var map = StageMap.Of("SetUpCall");
        PlanAssert.SameSet(
        [
            "Program.Main -> Program.LoadTables @13: sync", "Program.Main -> Program.OnItem @15: cut",
            "Program.OnItem -> Program.OnNamed @28: cut", "Program.OnNamed -> Program.OnWeighed @30: cut",
        ], map.Sites, "call sites");
        Assert.AreEqual("setsUpState", map.CallSites.Single(c => c.Callee == "Program.LoadTables").Rule);
        PlanAssert.SameSet(["Program.names: frozen", "Program.weights: frozen"], map.Placements, "placements");
        PlanAssert.SameSet(["OnItem: OnItem", "OnNamed: OnNamed", "OnWeighed: OnWeighed"], map.GroupLayout, "groups");
        Assert.AreEqual("info", map.Diagnostics.Single(d => d.Id == "WEAV028").Severity);
    }

    [TestMethod]
    public void The_source_printing_after_the_feed_leaves_the_feed_cut_and_prints_after_the_handlers()
    {
        var map = StageMap.Of("ConsoleAfterFeed");
        Assert.IsTrue(map.CallSites.All(c => c.Cut), string.Join(", ", map.Sites));
        PlanAssert.SameSet(["OnValue: OnValue", "OnMultiple: OnMultiple"], map.GroupLayout, "groups");
        PlanAssert.SameSet([], map.DiagnosticLines, "diagnostics");
    }

    [TestMethod]
    public void A_settlement_job_written_after_the_weaver_weaves_into_parse_and_aggregate_groups_with_its_options_frozen()
    {
        var map = StageMap.Of("BatchJob");
        // Main's two set-up calls stay synchronous; the feed is cut.
        CollectionAssert.AreEquivalent(new[] { "Program.LoadRates", "Program.ParseOptions" },
            map.CallSites.Where(c => !c.Cut).Select(c => c.Callee).ToArray());
        Assert.IsTrue(map.CallSites.Where(c => !c.Cut).All(c => c.Rule == "setsUpState"));
        // Parsing forks into a rejection and a conversion that can also reject: the diamond fuses (ordering contract,
        // joins); aggregation runs apart.
        PlanAssert.SameSet(["OnTransaction: OnParsed, OnRejected, OnTransaction", "OnAccepted: OnAccepted"], map.GroupLayout, "groups");
        PlanAssert.SameSet(
        [
            "Program.accepted: owned OnAccepted", "Program.countByCountry: owned OnAccepted", "Program.totalsByMerchant: owned OnAccepted",
            "Program.rejected: owned OnTransaction",
            "Program.minimumAmount: frozen", "Program.ratesToEur: frozen", "Program.reportCurrency: frozen", "Program.verbose: frozen",
        ], map.Placements, "placements");
        CollectionAssert.AreEquivalent(new[] { "Program.accepted", "Program.countByCountry", "Program.totalsByMerchant" },
            map.Groups.Single(g => g.Name == "OnAccepted").Results);
    }

    [TestMethod]
    public void A_reorder_job_written_last_weaves_into_the_stages_a_reader_would_draw()
    {
        // Written after every change to the weaver, and not changed for it: options from args and a catalogue loaded at
        // start, a feed of sales lines, purchase orders and totals printed by Main.
        var map = StageMap.Of("ReorderJob");
        PlanAssert.SameSet(["OnSaleLine: OnSaleLine", "OnSold: OnSold", "OnBelowReorderPoint: OnBelowReorderPoint"], map.GroupLayout, "groups");
        PlanAssert.SameSet(
        [
            "Program.Main -> Program.LoadCatalogue @41: sync", "Program.Main -> Program.OnSaleLine @44: cut",
            "Program.OnSaleLine -> Program.OnSold @89: cut", "Program.OnSold -> Program.OnBelowReorderPoint @100: cut",
        ], map.Sites, "call sites");
        PlanAssert.SameSet(
        [
            "Program.catalogue: frozen", "Program.leadTimeDays: frozen", "Program.safetyFactor: frozen", "Program.days: owned Main",
            "Program.salesLines: owned OnSaleLine", "Program.unknownSkus: owned OnSaleLine", "Program.sold: owned OnSold",
            "Program.onHand: owned OnSold", "Program.orders: owned OnBelowReorderPoint",
        ], map.Placements, "placements");
        // Every group reads part of what Main set up: all three are seeded before the first sales line.
        CollectionAssert.AreEquivalent(new[] { "OnSaleLine", "OnSold", "OnBelowReorderPoint" }, map.Stage("OnSaleLine").Seeds);
    }
    [TestMethod]
    public void State_reached_through_a_static_field_is_that_fields_state_and_its_writer_and_reader_fuse()
    {
        // An element of a dictionary, a field of an object, an out parameter, a list being enumerated: each writer and
        // its reader ran apart before, and the reader saw the writer's later changes.
        var map = StageMap.Of("ReachedState");
        PlanAssert.SameSet(
        [
            "OnIndexed: OnIndexCount, OnIndexed", "OnHeld: OnHeld, OnHeldCount",
            "OnNamed: OnNamed, OnNamedCount", "OnBucketed: OnBucketCount, OnBucketed",
        ], map.GroupLayout, "groups");
        foreach (var field in new[] { "Program.index", "Program.holder", "Program.named", "Program.buckets" })
            Assert.IsTrue(map.Placements.Any(p => p.StartsWith(field + ": shared", StringComparison.Ordinal) || p.StartsWith(field + ": owned", StringComparison.Ordinal)),
                $"{field} is placed as state of its group: {string.Join("; ", map.Placements)}");
    }
}
