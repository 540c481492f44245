using Mono.Cecil;
using Mono.Cecil.Cil;
using Weaving.Fody.Plan;
using CallSite = Weaving.Fody.Plan.CallSite;

namespace Weaving.Fody.Analysis;

/// <summary>
/// IL in, plan out: find continuations -> build the stage graph -> place state -> resolve groups and ordering.
/// Never edits IL.
/// </summary>
/// <param name="events">Events whose raises were rewritten into direct calls before the analysis (EventRaises), and
/// those left as they are, with why.</param>
/// <param name="sourceObjects">Fields given to the objects the source makes and keeps in locals (SourceObjectFields).</param>
public sealed class Analyzer(ModuleDefinition module, WeaverOptions options, EventSubscriptions? events = null,
    IReadOnlyCollection<FieldDefinition>? sourceObjects = null)
{
    ModuleFacts facts = null!;
    Closure closure = null!;
    TypeRules types = null!;
    ContinuationRules rules = null!;
    MethodDefinition? source;

    /// <summary>What the steps decided once nothing more had to be withdrawn.</summary>
    sealed class Decision(StageGraphBuilder.Result graph, StatePlacement.Result placed, GroupResolver.Result groups,
        List<(MethodDefinition Caller, MethodDefinition Callee)> edges, Dictionary<MethodDefinition, HashSet<MethodDefinition>> runs,
        List<Diagnostic> sourceSharing)
    {
        public StageGraphBuilder.Result Graph { get; } = graph;
        public StatePlacement.Result Placed { get; } = placed;
        public GroupResolver.Result Groups { get; } = groups;
        public List<(MethodDefinition Caller, MethodDefinition Callee)> Edges { get; } = edges;
        public Dictionary<MethodDefinition, HashSet<MethodDefinition>> Runs { get; } = runs;
        public List<Diagnostic> SourceSharing { get; } = sourceSharing;
    }

    public WeavingPlan Analyze()
    {
        facts = new ModuleFacts(module, events?.Resolved, sourceObjects);
        closure = new Closure(facts);
        types = new TypeRules(module);
        source = SourceOf(module.EntryPoint);
        rules = new ContinuationRules(facts, closure, types, source);
        return WritePlan(Decide());
    }

    /// <summary>
    /// The steps, to a fixed point (docs/design.md §2.4): 1-2 continuations and the stage graph (every candidate cut,
    /// withdrawn until each passes the rule), 3 placement (a stage the source shares state with in a way it cannot
    /// place is withdrawn: back to 1), 4 grouping and ordering (a streamed field that fusion broke is shared: back to
    /// 3). Every round only withdraws, so the rounds end; each step iterates in metadata order, so the result is the
    /// same on every build.
    /// </summary>
    Decision Decide()
    {
        var builder = new StageGraphBuilder(facts, rules, options);
        var placement = new StatePlacement(facts, closure, types);
        var keptSynchronous = new HashSet<MethodDefinition>();
        var notStreamed = new HashSet<FieldDefinition>();
        // The rounds that keep stages synchronous say why; the last round no longer sees those stages.
        var sourceSharing = new List<Diagnostic>();
        while (true)
        {
            var graph = builder.Build(source, keptSynchronous);
            var cut = graph.Sites.Values.Where(s => s.Cut).Select(s => (StageCaller(s.Caller), s.Callee)).ToList();
            var placed = placement.Place(source, graph.Stages, graph.IsCut, cut, notStreamed);
            foreach (var d in placed.Diagnostics.Where(d => d.Id == "WEAV020"))
                if (!sourceSharing.Any(known => known.Message == d.Message)) sourceSharing.Add(d);
            if (placed.SharedWithSource.Count(keptSynchronous.Add) > 0) continue;

            var stageSet = new HashSet<MethodDefinition>(graph.Stages);
            var runs = graph.Stages.ToDictionary(s => s, s => closure.OfSynchronousCalls(s, graph.IsCut));
            var edges = graph.Sites.Values.Where(s => s.Cut && s.Caller != source && stageSet.Contains(StageCaller(s.Caller)))
                .Select(s => (StageCaller(s.Caller), s.Callee)).Distinct().ToList();
            var sourceTargets = graph.Sites.Values.Where(s => s.Cut && s.Caller == source).Select(s => s.Callee).Distinct().ToList();
            var groups = new GroupResolver().Resolve(graph.Stages, edges, sourceTargets, SharedResources(placed, source, runs, facts), source,
                (from, to) => graph.Sites.Values.Where(c => c.Cut && StageCaller(c.Caller) == from && c.Callee == to)
                    .OrderBy(c => c.Instruction.Offset).FirstOrDefault()?.Instruction);
            if (StreamsBrokenByGrouping(placed, groups, runs).Count(notStreamed.Add) > 0) continue;
            return new Decision(graph, placed, groups, edges, runs, sourceSharing);
        }
    }

    /// <summary>The plan, printed from the decision: stages, groups, placements, call sites, barriers, diagnostics.</summary>
    // The stage a call is made in: an async handler for its body (MoveNext); the source stays the source.
    MethodDefinition StageCaller(MethodDefinition caller) => caller == source ? caller : facts.Written(caller);

    /// <summary>
    /// The source's code: the entry point, or, for an async Main, its body. The compiler's entry point for an async Main
    /// ("&lt;Main&gt;") only waits for it; the program the user wrote runs in the state machine's MoveNext.
    /// </summary>
    public static MethodDefinition? SourceOf(MethodDefinition? entry)
    {
        if (entry is null || !entry.HasBody) return entry;
        if (ModuleFacts.StateMachineBody(entry) is { } body) return body;
        if (entry.Name.StartsWith("<", StringComparison.Ordinal)
            && entry.Body.Instructions.Where(i => i.OpCode.Code == Code.Call)
                .Select(i => (i.Operand as MethodReference)?.Resolve())
                .Where(m => m is not null && m.Module == entry.Module)
                .Select(m => ModuleFacts.StateMachineBody(m!)).FirstOrDefault(b => b is not null) is { } asyncMain)
            return asyncMain;
        return entry;
    }

    WeavingPlan WritePlan(Decision decision)
    {
        var (graph, placed, groups, edges, runs) = (decision.Graph, decision.Placed, decision.Groups, decision.Edges, decision.Runs);
        var plan = new WeavingPlan { AssemblyName = module.Assembly.Name.Name, Source = source, EntryPoint = module.EntryPoint };
        foreach (var method in facts.AllMethods())
            if (facts.AsyncMethodOf(method) is { } written) plan.AsyncMethods[method] = written;
        plan.Diagnostics.AddRange(graph.Diagnostics);
        plan.Diagnostics.AddRange(decision.SourceSharing);
        plan.Diagnostics.AddRange(placed.Diagnostics.Where(d => d.Id != "WEAV020"));
        plan.Diagnostics.AddRange(groups.Diagnostics);

        var stages = graph.Stages;
        var names = StageNames(stages);
        foreach (var handler in stages) plan.Stages.Add(new Stage(names[handler], handler) { Receiver = facts.BoundField(handler) });
        plan.CallSites.AddRange(graph.Sites.Values.OrderBy(s => s.Caller.FullName, StringComparer.Ordinal).ThenBy(s => s.Instruction.Offset));

        for (var i = 0; i < groups.Groups.Count; i++)
        {
            var group = new Group(names[groups.Groups[i][0]]) { Rank = groups.Ranks[i] };
            group.FusionReasons.AddRange(groups.Reasons[i]);
            foreach (var handler in groups.Groups[i])
            {
                var stage = plan.StageOf(handler)!;
                stage.Group = group;
                group.Stages.Add(stage);
            }
            plan.Groups.Add(group);
        }
        foreach (var stage in plan.Stages)
        {
            foreach (var p in stage.Handler.Parameters)
                if (facts.BoundParameter(stage.Handler, p.Index) is { } bound) stage.Supplied[p.Index] = bound;
                else if (!facts.ReadsParameter(stage.Handler, p.Index)) stage.Supplied[p.Index] = null;
            stage.CopyArguments = stage.Handler.Parameters.Any(p => !types.IsImmutable(p.ParameterType) && !stage.Supplied.ContainsKey(p.Index));
            foreach (var (from, to) in edges.Where(e => e.Caller == stage.Handler))
                stage.Next.Add(plan.StageOf(to)!);
            foreach (var method in runs[stage.Handler])
                stage.ExternalCalls.UnionWith(facts.Get(method).ExternalCalls);
        }
        foreach (var (before, after) in groups.Barriers)
        {
            var (b, a) = (plan.StageOf(before)!, plan.StageOf(after)!);
            a.BarrierAfter.Add(b);
            plan.Barriers.Add((b, a));
        }
        // One note per stage the source drains before, at the source's first post to it.
        foreach (var stage in plan.Stages.Where(s => s.BarrierAfter.Count > 0))
        {
            var first = plan.CallSites.FirstOrDefault(c => c.Cut && c.Caller == source && c.Callee == stage.Handler);
            var before = string.Join(", ", stage.BarrierAfter.Select(b => b == stage ? b.Name + " itself (it is on a cycle of stages)" : b.Name));
            plan.Diagnostics.Add(SourceLocator.Diagnostic("WEAV023", Severity.Info,
                $"Before the source posts to {stage.Name}, it waits for the work it posted to {before} to finish, if any is pending: " +
                "their paths meet again, and this keeps their order (ordering contract, joins).",
                source, first?.Instruction));
        }

        foreach (var entry in placed.Fields.OrderBy(f => f.Key.DeclaringType.FullName + "." + f.Key.Name, StringComparer.Ordinal))
            plan.Fields.Add(PlaceField(plan, entry.Key, entry.Value, placed, runs, source));
        PlanSourceUses(plan, placed, source);
        CheckpointPlanner.Plan(plan, types);
        plan.SourceConsoleDrains.AddRange(rules.SourceConsoleDrains(graph.IsCut));

        // Phase-2 patterns are reported once per method, at the first place the source or a stage uses it.
        var reported = new HashSet<MethodDefinition>();
        foreach (var site in plan.CallSites.Where(s => !s.Cut))
        {
            var diagnostic = NotCutDiagnostic(site);
            if (diagnostic.Id == "WEAV016" && !reported.Add(site.Callee)) continue;
            plan.Diagnostics.Add(diagnostic);
        }
        foreach (var (field, method, at, why) in events?.Unresolved ?? [])
            plan.Diagnostics.Add(SourceLocator.Diagnostic("WEAV016", Severity.Warning,
                $"Raising {field.DeclaringType.Name}.{field.Name} stays a call through its delegate: {why}. " +
                "To cut its raises, subscribe static handlers (or methods of objects static fields hold) once in Main before anything raises it, and never unsubscribe.",
                method, at));
        foreach (var entry in graph.NotSupportedYet)
        {
            if (!reported.Add(entry.Key)) continue;
            var what = entry.Key.Name.Contains(">b__") ? "A lambda" : SourceLocator.Describe(entry.Key);
            plan.Diagnostics.Add(SourceLocator.Diagnostic("WEAV016", Severity.Warning,
                $"{what} used in {SourceLocator.Describe(entry.Value.Caller)} stays synchronous: {entry.Value.What}. " +
                "To cut it now, call a static void handler directly, passing it what it needs as arguments.",
                entry.Value.Caller, entry.Value.At));
        }
        if (source is null && plan.Stages.Count == 0)
            plan.Diagnostics.Add(new Diagnostic("WEAV004", Severity.Info,
                $"{plan.AssemblyName} has no entry point and no [Stage] method that can be a handler: nothing is cut, the assembly is left as it is.", null, 0, null));
        else if (plan.Stages.Count == 0)
            plan.Diagnostics.Add(new Diagnostic("WEAV004", Severity.Info,
                $"{plan.AssemblyName} has no handlers to cut: the assembly is left as it is. The warnings above say why each candidate call stays synchronous.", null, 0, null));
        return plan;
    }

    FieldPlan PlaceField(WeavingPlan plan, FieldDefinition field, (Placement Placement, HashSet<MethodDefinition> Touching, string Reason) placed,
        StatePlacement.Result placement, Dictionary<MethodDefinition, HashSet<MethodDefinition>> runs, MethodDefinition? source)
    {
        var (kind, touching, reason) = placed;
        Group? group = null;
        var toucher = kind == Placement.Streamed ? placement.Streams[field].Writer : touching.FirstOrDefault(t => t != source);
        if (kind is Placement.Owned or Placement.Shared or Placement.Streamed && toucher is not null && plan.StageOf(toucher) is { } stage)
            group = stage.Group;
        var fieldPlan = new FieldPlan(field, kind, group, reason) { ObjectState = facts.ObjectState(field) };
        switch (kind)
        {
            case Placement.Owned when group is not null:
                fieldPlan.Moves = FieldMobility.CanMove(field);
                if (fieldPlan.Moves) group.OwnedFields.Add(fieldPlan);
                else plan.Diagnostics.Add(SourceLocator.Diagnostic("WEAV030", Severity.Info,
                    $"{field.DeclaringType.Name}.{field.Name} is owned by group {group.Name} but stays a static field: {FieldMobility.WhyNotMovable(field)}. " +
                    "Only that group touches it, so this is safe.",
                    placement.Accesses[(field, toucher!)][0].Method, placement.Accesses[(field, toucher!)][0].At));
                break;
            case Placement.Shared when group is not null:
                // After fusion, every toucher is in one group: the field is that group's state.
                fieldPlan.Moves = touching.All(t => plan.StageOf(t)?.Group == group) && FieldMobility.CanMove(field);
                if (fieldPlan.Moves) group.OwnedFields.Add(fieldPlan);
                break;
            case Placement.Streamed when group is not null:
            {
                var stream = placement.Streams[field];
                fieldPlan.Moves = true;
                group.OwnedFields.Add(fieldPlan);
                fieldPlan.Writer = plan.StageOf(stream.Writer);
                fieldPlan.Readers.AddRange(plan.Stages.Where(s => stream.Readers.Contains(s.Handler)));
                fieldPlan.Carriers.AddRange(plan.Stages.Where(s => stream.Carriers.Contains(s.Handler)));
                foreach (var carrier in fieldPlan.Carriers)
                {
                    carrier.Carries.Add(fieldPlan);
                    if (!carrier.Group.StreamedCopies.Contains(fieldPlan)) carrier.Group.StreamedCopies.Add(fieldPlan);
                    foreach (var method in runs[carrier.Handler])
                        if (facts.Get(method).Accesses.Any(a => a.Field == field)) fieldPlan.CopyUsedBy[method] = carrier.Group;
                }
                plan.Diagnostics.Add(SourceLocator.Diagnostic("WEAV025", Severity.Info,
                    $"{field.DeclaringType.Name}.{field.Name} is streamed: {reason}. Each reader sees the value the writer had when it handed the work on.",
                    stream.Writer, placement.Accesses[(field, stream.Writer)].FirstOrDefault(a => a.Write)?.At));
                break;
            }
        }
        return fieldPlan;
    }


    /// <summary>
    /// What the source sets up before its posts reaches every group that uses it, once per run, before the source's
    /// first post that can reach the group; what it reads after them, it reads once the group's work has finished
    /// (docs/design.md §3 and §6).
    /// </summary>
    static void PlanSourceUses(WeavingPlan plan, StatePlacement.Result placed, MethodDefinition? source)
    {
        if (source is null) return;
        foreach (var field in plan.Fields.Where(f => placed.SourceUses.ContainsKey(f.Field)))
        {
            var verdict = placed.SourceUses[field.Field];
            field.SetUpBySource = verdict.WritesBeforePosts;
            field.SourceReadsAfterPosts.AddRange(verdict.ReadsAfterPosts);
            var groups = field.Placement == Placement.Frozen
                ? placed.Fields[field.Field].Touching.Select(t => plan.StageOf(t)?.Group).OfType<Group>().Distinct().ToList()
                : field.Moves && field.Group is not null ? [field.Group] : [];
            if (field.SetUpBySource)
                foreach (var group in groups.Where(g => !g.Seeded.Contains(field))) group.Seeded.Add(field);
            if (field.SourceReadsAfterPosts.Count > 0 && field.Group is not null && field.Moves) field.Group.Results.Add(field);

            var point = field.SourceReadsAfterPosts.FirstOrDefault();
            if (field.Placement == Placement.Frozen)
                plan.Diagnostics.Add(SourceLocator.Diagnostic("WEAV026", Severity.Info,
                    $"{field.Field.DeclaringType.Name}.{field.Field.Name} is frozen: the source sets it up before its first post to a stage that reads it, and no stage changes it. " +
                    (groups.Count > 0 && field.SetUpBySource ? $"Across processes it is sent once per run to group(s) {string.Join(", ", groups.Select(g => g.Name))}." : "It stays a static field."),
                    source, placed.Accesses.TryGetValue((field.Field, source), out var a) ? a[0].At : null));
            else if (point is not null)
                plan.Diagnostics.Add(SourceLocator.Diagnostic("WEAV027", Severity.Info,
                    $"The source reads {field.Field.DeclaringType.Name}.{field.Field.Name} after its posts: there it first waits for the work of group {field.Group?.Name} to finish" +
                    " and, across processes, fetches that group's state.",
                    source, point));
        }
        // Each stage the source posts to seeds the groups it can reach, itself included.
        foreach (var target in plan.CallSites.Where(c => c.Cut && c.Caller == source).Select(c => plan.StageOf(c.Callee)!).Distinct())
        {
            var seen = new HashSet<Stage> { target };
            var work = new Stack<Stage>(seen);
            while (work.Count > 0)
            {
                var stage = work.Pop();
                if (stage.Group.Seeded.Count > 0 && !target.Seeds.Contains(stage.Group)) target.Seeds.Add(stage.Group);
                foreach (var next in stage.Next)
                    if (seen.Add(next)) work.Push(next);
            }
        }
    }

    /// <summary>
    /// What fuses stages: the fields they share (the source's are handled by keeping stages synchronous instead), and
    /// the console, one resource whose order is visible, when more than one stage writes to it.
    /// </summary>
    static List<(string Name, HashSet<MethodDefinition> Stages, string Detail, MethodDefinition At, Instruction? AtInstruction)> SharedResources(
        StatePlacement.Result placed, MethodDefinition? source, Dictionary<MethodDefinition, HashSet<MethodDefinition>> runs, ModuleFacts facts)
    {
        var result = new List<(string, HashSet<MethodDefinition>, string, MethodDefinition, Instruction?)>();
        foreach (var f in placed.Fields.Where(f => f.Value.Placement == Placement.Shared && (source is null || !f.Value.Touching.Contains(source))))
        {
            var touching = f.Value.Touching;
            var at = touching.Skip(1).FirstOrDefault() ?? touching.First();
            var access = placed.Accesses.TryGetValue((f.Key, at), out var list) ? list[0] : null;
            result.Add(($"{f.Key.DeclaringType.Name}.{f.Key.Name}", touching, AccessDetail(placed, f.Key, touching),
                access?.Method ?? at, access?.At));
        }
        var printers = runs.Where(r => r.Value.Any(m => facts.Get(m).UsesConsole)).Select(r => r.Key).ToList();
        if (printers.Count > 1)
        {
            var places = printers.Select(p =>
            {
                var (method, at) = FirstConsoleCall(runs[p], facts);
                return (Stage: p, Method: method, At: at);
            }).ToList();
            var detail = " (" + string.Join("; ", places.Select(p => $"{p.Stage.Name} at line {SourceLocator.Find(p.Method, p.At)?.StartLine ?? 0}")) + ")";
            result.Add(("the console", new HashSet<MethodDefinition>(printers), detail, places[1].Method, places[1].At));
        }
        return result;
    }

    static (MethodDefinition Method, Instruction? At) FirstConsoleCall(HashSet<MethodDefinition> methods, ModuleFacts facts)
    {
        foreach (var m in methods.Where(m => facts.Get(m).UsesConsole && m.HasBody))
            foreach (var ins in m.Body.Instructions)
                if (ins.OpCode.Code == Code.Call && ins.Operand is MethodReference r && r.DeclaringType.FullName == "System.Console")
                    return (m, ins);
        return (methods.First(), null);
    }

    /// <summary>
    /// A streamed field needs its copies in groups other than the writer's, and every method that touches it must run in
    /// one group, so that its accesses can be sent to that group's copy. Fusion may break either: such fields are shared.
    /// </summary>
    List<FieldDefinition> StreamsBrokenByGrouping(StatePlacement.Result placed, GroupResolver.Result groups,
        Dictionary<MethodDefinition, HashSet<MethodDefinition>> runs)
    {
        var broken = new List<FieldDefinition>();
        foreach (var entry in placed.Streams)
        {
            var (field, stream) = (entry.Key, entry.Value);
            var writerGroup = groups.GroupIndex[stream.Writer];
            if (stream.Carriers.Any(c => groups.GroupIndex[c] == writerGroup)) { broken.Add(field); continue; }
            var groupsOfMethod = new Dictionary<MethodDefinition, HashSet<int>>();
            foreach (var run in runs)
                foreach (var method in run.Value)
                    if (facts.Get(method).Accesses.Any(a => a.Field == field))
                    {
                        if (!groupsOfMethod.TryGetValue(method, out var set)) groupsOfMethod[method] = set = [];
                        set.Add(groups.GroupIndex[run.Key]);
                    }
            if (groupsOfMethod.Values.Any(g => g.Count > 1)) broken.Add(field);
        }
        return broken;
    }

    static string AccessDetail(StatePlacement.Result placed, FieldDefinition field, HashSet<MethodDefinition> touching) =>
        " (" + string.Join("; ", touching.Select(t => t.Name + StatePlacement.AccessLines(placed, field, t).Replace(" (", " at ").TrimEnd(')'))) + ")";

    static Diagnostic NotCutDiagnostic(CallSite site)
    {
        var why = site.Why!;
        var message = $"The call to {SourceLocator.Describe(site.Callee)} in {SourceLocator.Describe(site.Caller)} stays synchronous: {why.Detail}." +
                      (why.Advice.Length > 0 ? " " + why.Advice : "");
        return SourceLocator.Diagnostic(why.Id, why.Severity, message, site.Caller, site.Instruction);
    }

    static Dictionary<MethodDefinition, string> StageNames(IReadOnlyList<MethodDefinition> stages)
    {
        var names = new Dictionary<MethodDefinition, string>();
        var byName = stages.GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.Count());
        var used = new HashSet<string>(StringComparer.Ordinal) { "Main", "all" };
        foreach (var s in stages)
        {
            // Overloads are told apart by their parameter types, methods of other types by their type's name.
            var name = byName[s.Name] == 1 ? s.Name
                : stages.Count(o => o.Name == s.Name && o.DeclaringType == s.DeclaringType) > 1
                    ? s.Name + "_" + string.Join("_", s.Parameters.Select(p => p.ParameterType.Name.Replace("[]", "Array").Replace("`", "")))
                    : s.DeclaringType.Name + "." + s.Name;
            var unique = name;
            for (var i = 2; !used.Add(unique); i++) unique = name + "_" + i;
            names[s] = unique;
        }
        return names;
    }
}
