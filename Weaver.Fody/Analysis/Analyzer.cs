using Mono.Cecil;
using Mono.Cecil.Cil;
using Weaving.Fody.Plan;
using CallSite = Weaving.Fody.Plan.CallSite;

namespace Weaving.Fody.Analysis;

/// <summary>
/// IL in, plan out: find continuations -> build the stage graph -> place state -> resolve groups and ordering.
/// Never edits IL.
/// </summary>
public sealed class Analyzer(ModuleDefinition module, WeaverOptions options)
{
    public WeavingPlan Analyze()
    {
        var facts = new ModuleFacts(module);
        var closure = new Closure(facts);
        var types = new TypeRules();
        var rules = new ContinuationRules(facts, closure, types);
        var builder = new StageGraphBuilder(facts, rules, options);
        var placement = new StatePlacement(facts, closure);
        var source = module.EntryPoint;
        var plan = new WeavingPlan { AssemblyName = module.Assembly.Name.Name, Source = source };

        // Stages that share state with the source must run inside it; each round can only add to that set.
        var keptSynchronous = new HashSet<MethodDefinition>();
        StageGraphBuilder.Result graph;
        StatePlacement.Result placed;
        while (true)
        {
            graph = builder.Build(source, keptSynchronous);
            placed = placement.Place(source, graph.Stages, graph.IsCut);
            var before = keptSynchronous.Count;
            keptSynchronous.UnionWith(placed.SharedWithSource);
            if (keptSynchronous.Count == before) break;
        }
        plan.Diagnostics.AddRange(graph.Diagnostics);
        plan.Diagnostics.AddRange(placed.Diagnostics);

        var stages = graph.Stages;
        var names = StageNames(stages);
        foreach (var handler in stages) plan.Stages.Add(new Stage(names[handler], handler));
        plan.CallSites.AddRange(graph.Sites.Values.OrderBy(s => s.Caller.FullName, StringComparer.Ordinal).ThenBy(s => s.Instruction.Offset));

        var edges = graph.Sites.Values.Where(s => s.Cut && s.Caller != source && stages.Contains(s.Caller))
            .Select(s => (s.Caller, s.Callee)).Distinct().ToList();
        var sourceTargets = graph.Sites.Values.Where(s => s.Cut && s.Caller == source).Select(s => s.Callee).Distinct().ToList();
        var shared = placed.Fields.Where(f => f.Value.Placement == Placement.Shared && (source is null || !f.Value.Touching.Contains(source)))
            .Select(f => (f.Key, f.Value.Touching, AccessDetail(placed, f.Key, f.Value.Touching)));
        var groups = new GroupResolver().Resolve(stages, edges, sourceTargets, shared, source);
        plan.Diagnostics.AddRange(groups.Diagnostics);

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
            stage.CopyArguments = stage.Handler.Parameters.Any(p => !types.IsImmutable(p.ParameterType));
            foreach (var (from, to) in edges.Where(e => e.Caller == stage.Handler))
                stage.Next.Add(plan.StageOf(to)!);
            foreach (var method in closure.OfSynchronousCalls(stage.Handler, graph.IsCut))
                stage.ExternalCalls.UnionWith(facts.Get(method).ExternalCalls);
        }
        foreach (var (before, after) in groups.Barriers)
        {
            var (b, a) = (plan.StageOf(before)!, plan.StageOf(after)!);
            a.BarrierAfter.Add(b);
            plan.Barriers.Add((b, a));
        }

        foreach (var entry in placed.Fields.OrderBy(f => f.Key.DeclaringType.FullName + "." + f.Key.Name, StringComparer.Ordinal))
        {
            var field = entry.Key;
            var (kind, touching, reason) = entry.Value;
            Group? group = null;
            var toucher = touching.FirstOrDefault(t => t != source);
            if (kind is Placement.Owned or Placement.Shared && toucher is not null && plan.StageOf(toucher) is { } stage) group = stage.Group;
            var fieldPlan = new FieldPlan(field, kind, group, reason);
            if (kind == Placement.Owned && group is not null)
            {
                fieldPlan.Moves = CanMove(field);
                if (fieldPlan.Moves) group.OwnedFields.Add(fieldPlan);
                else plan.Diagnostics.Add(SourceLocator.Diagnostic("WEAV030", Severity.Info,
                    $"{field.DeclaringType.Name}.{field.Name} is owned by group {group.Name} but stays a static field: its type is not visible outside {field.DeclaringType.Name}, or it is public and other assemblies may use it.",
                    null, null));
            }
            if (kind == Placement.Shared && group is not null)
            {
                // After fusion, every toucher is in one group: the field is that group's state.
                fieldPlan.Moves = touching.All(t => plan.StageOf(t)?.Group == group) && CanMove(field);
                if (fieldPlan.Moves) group.OwnedFields.Add(fieldPlan);
            }
            plan.Fields.Add(fieldPlan);
        }

        foreach (var site in plan.CallSites.Where(s => !s.Cut))
            plan.Diagnostics.Add(NotCutDiagnostic(site));
        if (source is null && plan.Stages.Count == 0)
            plan.Diagnostics.Add(new Diagnostic("WEAV004", Severity.Info,
                $"{plan.AssemblyName} has no entry point and no [Stage] methods: nothing is cut.", null, 0, null));
        return plan;
    }

    static string AccessDetail(StatePlacement.Result placed, FieldDefinition field, HashSet<MethodDefinition> touching) =>
        " (" + string.Join("; ", touching.Select(t => t.Name + StatePlacement.AccessLines(placed, field, t).Replace(" (", " at ").TrimEnd(')'))) + ")";

    static Diagnostic NotCutDiagnostic(CallSite site)
    {
        var reason = site.Reason ?? "";
        var (id, severity, advice) =
            reason.Contains("try block") ? ("WEAV010", Severity.Warning, "Move the try/catch into the handler to cut it.")
            : reason.StartsWith("after it", StringComparison.Ordinal) ? ("WEAV011", Severity.Warning, "Make the call the last thing the caller does, or move the later effect into the handler.")
            : reason.Contains("cannot travel") ? ("WEAV012", Severity.Warning, "Pass only primitives, strings, arrays, List/Dictionary or records of those.")
            : reason.Contains("not the caller's to hand over") ? ("WEAV013", Severity.Warning, "Pass a new object (or a copy) that the caller does not use afterwards.")
            : reason.Contains("[Inline]") || reason.Contains("Exclude option") ? ("WEAV014", Severity.Info, "")
            : reason.Contains("shares state with the source") ? ("WEAV015", Severity.Warning, "")
            : reason.Contains("not supported yet") ? ("WEAV016", Severity.Warning, "")
            : ("WEAV017", Severity.Warning, "Make it a static void method whose parameters are not ref/out.");
        var message = $"The call to {SourceLocator.Describe(site.Callee)} in {SourceLocator.Describe(site.Caller)} stays synchronous: {reason}." +
                      (advice.Length > 0 ? " " + advice : "");
        return SourceLocator.Diagnostic(id, severity, message, site.Caller, site.Instruction);
    }

    static Dictionary<MethodDefinition, string> StageNames(IReadOnlyList<MethodDefinition> stages)
    {
        var names = new Dictionary<MethodDefinition, string>();
        var byName = stages.GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.Count());
        var used = new HashSet<string>(StringComparer.Ordinal) { "Main", "all" };
        foreach (var s in stages)
        {
            var name = byName[s.Name] == 1 ? s.Name : s.DeclaringType.Name + "." + s.Name;
            var unique = name;
            for (var i = 2; !used.Add(unique); i++) unique = name + "_" + i;
            names[s] = unique;
        }
        return names;
    }

    // A field moves into a state object only if code outside its type cannot see it and its type can be named there.
    static bool CanMove(FieldDefinition field)
    {
        if (field.IsPublic && IsVisibleOutside(field.DeclaringType)) return false;
        if (field.FieldType is RequiredModifierType or OptionalModifierType) return false;
        if (field.CustomAttributes.Any(a => a.AttributeType.Name == "ThreadStaticAttribute")) return false;
        return IsNameableAnywhere(field.FieldType);
    }

    static bool IsVisibleOutside(TypeDefinition type) =>
        type.IsNested ? (type.IsNestedPublic || type.IsNestedFamily || type.IsNestedFamilyOrAssembly) && IsVisibleOutside(type.DeclaringType) : type.IsPublic;

    static bool IsNameableAnywhere(TypeReference type)
    {
        if (type is GenericInstanceType g && !g.GenericArguments.All(IsNameableAnywhere)) return false;
        if (type is TypeSpecification spec) return IsNameableAnywhere(spec.ElementType);
        if (type.IsGenericParameter) return false;
        var def = type.Resolve();
        if (def is null) return false;
        for (var t = def; t.IsNested; t = t.DeclaringType)
            if (!(t.IsNestedPublic || t.IsNestedAssembly || t.IsNestedFamilyOrAssembly)) return false;
        return true;
    }
}
