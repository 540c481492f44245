using Mono.Cecil;
using Weaving.Fody.Plan;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Places every static field (DESIGN section 3): constant (left static), owned by one stage, or shared (its stages fuse).
/// A field the source shares with stages makes those stages synchronous calls of the source.
/// </summary>
public sealed class StatePlacement(ModuleFacts facts, Closure closure)
{
    public sealed class Result
    {
        /// <summary>Placement, and the stages (source included) that touch each field.</summary>
        public Dictionary<FieldDefinition, (Placement Placement, HashSet<MethodDefinition> Touching, string Reason)> Fields { get; } = new();
        /// <summary>Stages that share a field with the source: they must run synchronously inside it.</summary>
        public HashSet<MethodDefinition> SharedWithSource { get; } = [];
        public List<Diagnostic> Diagnostics { get; } = [];
        /// <summary>Accesses per (field, stage), for the source lines in fusion warnings.</summary>
        public Dictionary<(FieldDefinition, MethodDefinition), List<FieldAccess>> Accesses { get; } = new();
    }

    public Result Place(MethodDefinition? source, IReadOnlyList<MethodDefinition> stages, Func<Mono.Cecil.Cil.Instruction, bool> isCut)
    {
        var result = new Result();
        var roots = stages.ToList();
        if (source is not null) roots.Insert(0, source);

        var touching = new Dictionary<FieldDefinition, HashSet<MethodDefinition>>();
        foreach (var root in roots)
            foreach (var method in closure.OfSynchronousCalls(root, isCut))
                foreach (var access in facts.Get(method).Accesses)
                {
                    if (!touching.TryGetValue(access.Field, out var set)) touching[access.Field] = set = [];
                    set.Add(root);
                    if (!result.Accesses.TryGetValue((access.Field, root), out var list)) result.Accesses[(access.Field, root)] = list = [];
                    list.Add(access);
                }

        var writtenOutsideInitializer = new HashSet<FieldDefinition>();
        foreach (var method in facts.AllMethods())
        {
            if (!method.HasBody) continue;
            foreach (var access in facts.Get(method).Accesses)
                if (access.Write && !(method.IsConstructor && method.IsStatic && method.DeclaringType == access.Field.DeclaringType))
                    writtenOutsideInitializer.Add(access.Field);
        }

        foreach (var field in facts.Module.GetTypes().SelectMany(t => t.Fields).Where(f => f.IsStatic && !f.IsLiteral))
        {
            var set = touching.TryGetValue(field, out var t) ? t : [];
            if (IsCompilerConstant(field))
                result.Fields[field] = (Placement.Constant, set, "compiler-generated cache or data");
            else if (!writtenOutsideInitializer.Contains(field))
                result.Fields[field] = (Placement.Constant, set, "written only by the type initializer, never changed by a handler");
            else if (set.Count == 0)
                result.Fields[field] = (Placement.Constant, set, "touched by no stage or source");
            else if (set.Count == 1)
                result.Fields[field] = (Placement.Owned, set, $"touched only by {Name(set.First(), source)}");
            else if (source is not null && set.Contains(source))
            {
                foreach (var stage in set.Where(s => s != source)) result.SharedWithSource.Add(stage);
                result.Fields[field] = (Placement.Shared, set, "shared by the source and stages");
                var stagesText = string.Join(", ", set.Where(s => s != source).Select(s => Name(s, source)));
                var line = Lines(result, field, source);
                result.Diagnostics.Add(SourceLocator.Diagnostic("WEAV020", Severity.Warning,
                    $"The source {SourceLocator.Describe(source)} uses {field.DeclaringType.Name}.{field.Name}{line}, which stage(s) {stagesText} also use: " +
                    $"they stay synchronous calls of the source. Move the source's use of {field.Name} into a handler called at the end (for example an OnEnd handler) so they can become stages.",
                    source, result.Accesses.TryGetValue((field, source), out var a) ? a[0].At : null));
            }
            else
                result.Fields[field] = (Placement.Shared, set, "touched by " + string.Join(", ", set.Select(s => Name(s, source))));
        }
        return result;
    }

    static string Lines(Result result, FieldDefinition field, MethodDefinition root)
    {
        if (!result.Accesses.TryGetValue((field, root), out var list)) return "";
        var lines = list.Select(a => SourceLocator.Find(a.Method, a.At)?.StartLine ?? 0).Where(l => l > 0).Distinct().Take(3).ToList();
        return lines.Count == 0 ? "" : " (line " + string.Join(", ", lines) + ")";
    }

    public static string AccessLines(Result result, FieldDefinition field, MethodDefinition root) => Lines(result, field, root);

    static string Name(MethodDefinition m, MethodDefinition? source) => m == source ? "the source " + m.Name : m.Name;

    static bool IsCompilerConstant(FieldDefinition field) =>
        field.HasFieldRVA || field.DeclaringType.Name.StartsWith("<PrivateImplementationDetails>", StringComparison.Ordinal)
        || (field.DeclaringType.Name == "<>c" && field.Name.StartsWith("<>9", StringComparison.Ordinal));
}
