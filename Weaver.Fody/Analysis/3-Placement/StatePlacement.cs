using Mono.Cecil;
using Weaving.Fody.Plan;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Places every static field (docs/design.md §3): constant (left static), owned by one stage, streamed from the one stage
/// that writes it to the stages after it that read it, or shared (its stages fuse). A field the source shares with
/// stages makes those stages synchronous calls of the source.
/// </summary>
public sealed class StatePlacement(ModuleFacts facts, Closure closure, TypeRules types)
{
    /// <summary>A streamed field: who writes it, who reads it, and every stage whose messages carry its value.</summary>
    public sealed class Stream(MethodDefinition writer, HashSet<MethodDefinition> readers, HashSet<MethodDefinition> carriers)
    {
        public MethodDefinition Writer { get; } = writer;
        public HashSet<MethodDefinition> Readers { get; } = readers;
        /// <summary>The readers and the stages between the writer and them, in no particular order.</summary>
        public HashSet<MethodDefinition> Carriers { get; } = carriers;
    }

    public sealed class Result
    {
        /// <summary>Placement, and the stages (source included) that touch each field.</summary>
        public Dictionary<FieldDefinition, (Placement Placement, HashSet<MethodDefinition> Touching, string Reason)> Fields { get; } = new();
        public Dictionary<FieldDefinition, Stream> Streams { get; } = new();
        /// <summary>
        /// Fields the source sets up before its posts or reads after them (frozen fields, and results): where and how.
        /// </summary>
        public Dictionary<FieldDefinition, SourceTimeline.Verdict> SourceUses { get; } = new();
        /// <summary>Stages that share a field with the source: they must run synchronously inside it.</summary>
        public HashSet<MethodDefinition> SharedWithSource { get; } = [];
        public List<Diagnostic> Diagnostics { get; } = [];
        /// <summary>Accesses per (field, stage), for the source lines in fusion warnings.</summary>
        public Dictionary<(FieldDefinition, MethodDefinition), List<FieldAccess>> Accesses { get; } = new();
    }

    /// <param name="cutSites">The cut call sites: (caller, callee); a caller that is neither the source nor a stage is an entry.</param>
    /// <param name="notStreamed">Fields that grouping showed cannot be streamed: they are shared instead.</param>
    public Result Place(MethodDefinition? source, IReadOnlyList<MethodDefinition> stages, Func<Mono.Cecil.Cil.Instruction, bool> isCut,
        IReadOnlyCollection<(MethodDefinition Caller, MethodDefinition Callee)> cutSites, ISet<FieldDefinition> notStreamed)
    {
        var result = new Result();
        var timeline = source is null ? null : new SourceTimeline(facts, closure, source, isCut);
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
            else if (source is not null && set.Contains(source) && SourceFits(field, set, result, stages, cutSites, source, timeline!) is { } fits)
            {
                result.SourceUses[field] = fits.Verdict;
                var stagesOnly = new HashSet<MethodDefinition>(set.Where(s => s != source));
                // The stages touch it as if the source did not: it is theirs to place.
                if (fits.Frozen)
                    result.Fields[field] = (Placement.Frozen, stagesOnly,
                        $"set up by the source before its first post to a stage that reads it, and changed by no stage: frozen from then on");
                else
                {
                    var results = fits.Verdict.ReadsAfterPosts.Count > 0 ? "; the source reads it after its last post to them, once their work has finished" : "";
                    var setUp = fits.Verdict.WritesBeforePosts ? "; the source sets it before its first post to them" : "";
                    if (stagesOnly.Count == 1)
                        result.Fields[field] = (Placement.Owned, stagesOnly, $"touched only by {Name(stagesOnly.First(), source)}{setUp}{results}");
                    else
                        result.Fields[field] = (Placement.Shared, stagesOnly, "touched by " + string.Join(", ", stagesOnly.Select(s => Name(s, source))) + setUp + results);
                }
            }
            else if (source is not null && set.Contains(source))
            {
                foreach (var stage in set.Where(s => s != source)) result.SharedWithSource.Add(stage);
                result.Fields[field] = (Placement.Shared, set, "shared by the source and stages");
                var stagesText = string.Join(", ", set.Where(s => s != source).Select(s => Name(s, source)));
                var line = Lines(result, field, source);
                result.Diagnostics.Add(SourceLocator.Diagnostic("WEAV020", Severity.Warning,
                    $"The source {SourceLocator.Describe(source)} uses {field.DeclaringType.Name}.{field.Name}{line}, which stage(s) {stagesText} also use: " +
                    $"they stay synchronous calls of the source. Move the source's use of {field.Name} into a handler called at the end (for example an OnEnd handler) so they can become stages.",
                    result.Accesses.TryGetValue((field, source), out var a) ? a[0].Method : source, a?[0].At));
            }
            else if (!notStreamed.Contains(field) && Streamable(field, set, result, stages, cutSites, source) is { } stream)
            {
                result.Streams[field] = stream;
                var through = stream.Carriers.Where(c => !stream.Readers.Contains(c)).Select(c => c.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
                var readers = string.Join(", ", stream.Readers.Select(r => r.Name).OrderBy(n => n, StringComparer.Ordinal));
                result.Fields[field] = (Placement.Streamed, set,
                    $"written only by {stream.Writer.Name}, which comes before every stage that reads it ({readers}); its value travels in the messages" +
                    (through.Count > 0 ? " through " + string.Join(", ", through) : ""));
            }
            else
                result.Fields[field] = (Placement.Shared, set, "touched by " + string.Join(", ", set.Select(s => Name(s, source))));
        }
        return result;
    }

    /// <summary>
    /// The source may set a field up before its posts and read it after them (docs/design.md §3). Frozen: no stage
    /// writes it, so it is only set up. Results: stages write it, and the source only reads it once they are done.
    /// Either way its value must be able to travel (to the hosts, or back), and a result must be able to move into
    /// its group's state object. Null when the source's use does not fit.
    /// </summary>
    (bool Frozen, SourceTimeline.Verdict Verdict)? SourceFits(FieldDefinition field, HashSet<MethodDefinition> touching, Result result,
        IReadOnlyList<MethodDefinition> stages, IReadOnlyCollection<(MethodDefinition Caller, MethodDefinition Callee)> cutSites,
        MethodDefinition source, SourceTimeline timeline)
    {
        // The object of a field instance handlers run on travels as its fields (docs/design.md §6.4).
        if (facts.ObjectState(field) is { } objectFields ? objectFields.Any(f => types.WhyNotTransferable(f.FieldType) is not null)
            : types.WhyNotTransferable(field.FieldType) is not null) return null;
        for (var t = field.DeclaringType; t is not null; t = t.DeclaringType)
            if (t.HasGenericParameters) return null;
        var stageTouchers = touching.Where(t => t != source).ToList();
        var frozen = stageTouchers.All(t => result.Accesses[(field, t)].All(a => !a.Write));
        if (!frozen && !FieldMobility.CanMove(field)) return null;
        var verdict = timeline.Of(field, Reaching(stageTouchers, stages, cutSites, source));
        if (!verdict.Fits) return null;
        return (frozen, verdict);
    }

    // The stages from which one of the targets can be reached through continuations (the targets included).
    static HashSet<MethodDefinition> Reaching(IEnumerable<MethodDefinition> targets, IReadOnlyList<MethodDefinition> stages,
        IReadOnlyCollection<(MethodDefinition Caller, MethodDefinition Callee)> cutSites, MethodDefinition source)
    {
        var stageSet = new HashSet<MethodDefinition>(stages);
        var callers = new Dictionary<MethodDefinition, List<MethodDefinition>>();
        foreach (var (caller, callee) in cutSites)
        {
            if (caller == source || !stageSet.Contains(caller)) continue;
            if (!callers.TryGetValue(callee, out var list)) callers[callee] = list = [];
            list.Add(caller);
        }
        var seen = new HashSet<MethodDefinition>(targets);
        var work = new Stack<MethodDefinition>(seen);
        while (work.Count > 0)
            if (callers.TryGetValue(work.Pop(), out var list))
                foreach (var c in list)
                    if (seen.Add(c)) work.Push(c);
        return seen;
    }

    // Streamed: one stage writes the field, the others only read it, every reader comes after the writer on every path
    // (the writer dominates it), and the value can be copied into messages (an immutable type that can travel) and into
    // state objects.
    Stream? Streamable(FieldDefinition field, HashSet<MethodDefinition> touching, Result result, IReadOnlyList<MethodDefinition> stages,
        IReadOnlyCollection<(MethodDefinition Caller, MethodDefinition Callee)> cutSites, MethodDefinition? source)
    {
        if (source is not null && touching.Contains(source)) return null;
        if (!types.IsImmutable(field.FieldType) || types.WhyNotTransferable(field.FieldType) is not null || !FieldMobility.CanMove(field)) return null;
        var writers = touching.Where(t => result.Accesses[(field, t)].Any(a => a.Write)).ToList();
        if (writers.Count != 1) return null;
        var writer = writers[0];
        var readers = new HashSet<MethodDefinition>(touching.Where(t => t != writer));

        var stageSet = new HashSet<MethodDefinition>(stages);
        var next = stages.ToDictionary(s => s, _ => new HashSet<MethodDefinition>());
        var entries = new HashSet<MethodDefinition>();
        foreach (var (caller, callee) in cutSites)
        {
            if (!stageSet.Contains(callee)) continue;
            if (stageSet.Contains(caller) && caller != source) next[caller].Add(callee);
            else entries.Add(callee);
        }

        // Dominance: without the writer, no reader can be reached from an entry.
        var withoutWriter = Reach(entries.Where(e => e != writer), next, writer);
        if (readers.Any(withoutWriter.Contains)) return null;

        // Carriers: reached from the writer without passing it again, and leading to a reader without passing it.
        var fromWriter = Reach(next[writer], next, writer);
        if (!readers.All(fromWriter.Contains)) return null;
        var carriers = new HashSet<MethodDefinition>(fromWriter.Where(s => s != writer &&
            Reach([s], next, writer).Overlaps(readers)));
        return new Stream(writer, readers, carriers);
    }

    static HashSet<MethodDefinition> Reach(IEnumerable<MethodDefinition> from, Dictionary<MethodDefinition, HashSet<MethodDefinition>> next,
        MethodDefinition avoid)
    {
        var seen = new HashSet<MethodDefinition>();
        var work = new Stack<MethodDefinition>();
        foreach (var f in from)
            if (f != avoid && seen.Add(f)) work.Push(f);
        while (work.Count > 0)
            foreach (var n in next[work.Pop()])
                if (n != avoid && seen.Add(n)) work.Push(n);
        return seen;
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
        || (field.DeclaringType.Name == "<>c" && field.Name.StartsWith("<>9", StringComparison.Ordinal))
        // C# 11 caches method-group delegates in <>O
        || field.DeclaringType.Name == "<>O";
}
