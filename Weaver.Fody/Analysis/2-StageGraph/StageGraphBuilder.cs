using Mono.Cecil;
using Mono.Cecil.Cil;
using Weaving.Fody.Plan;
using CallSite = Weaving.Fody.Plan.CallSite;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Finds the stages: every handler reachable from the source through continuations, plus the methods marked [Stage].
/// Calls are cut only inside the source and the stages.
/// </summary>
public sealed class StageGraphBuilder(ModuleFacts facts, ContinuationRules rules, WeaverOptions options)
{
    public sealed class Result
    {
        public List<MethodDefinition> Stages { get; } = [];
        public Dictionary<Instruction, CallSite> Sites { get; } = new();
        public List<Diagnostic> Diagnostics { get; } = [];
        /// <summary>Phase-2 patterns met in the source or a stage, once per method: (method, where it is used, what it is).</summary>
        public Dictionary<MethodDefinition, (MethodDefinition Caller, Instruction At, string What)> NotSupportedYet { get; } = new();
        public bool IsCut(Instruction call) => Sites.TryGetValue(call, out var site) && site.Cut;
    }

    /// <param name="source">The entry point, or null for a library.</param>
    /// <param name="keptSynchronous">Handlers that analysis already decided must run synchronously (fused with the source).</param>
    public Result Build(MethodDefinition? source, ISet<MethodDefinition> keptSynchronous)
    {
        var forced = facts.AllMethods().Where(m => HasAttribute(m, "StageAttribute")).ToList();
        // Optimistic first: assume every candidate call is cut, then withdraw until nothing changes. Withdrawing one
        // call can only make others impossible (an effect after them, a parameter no longer owned), never possible.
        var withdrawn = new Dictionary<Instruction, CutReason>();
        while (true)
        {
            var result = Walk(source, forced, keptSynchronous, withdrawn);
            var changed = false;
            var stageSet = new HashSet<MethodDefinition>(result.Stages);
            foreach (var site in result.Sites.Values.Where(s => s.Cut).ToList())
            {
                var ownsParameters = OwnsParameters(site.Caller, result, stageSet, source);
                var why = forced.Contains(site.Callee)
                    ? null
                    : rules.WhyNotCut(site.Caller, site.Instruction, site.Callee, result.IsCut, ownsParameters);
                if (why is null) continue;
                withdrawn[site.Instruction] = why;
                changed = true;
            }
            if (!changed) return result;
        }
    }

    Result Walk(MethodDefinition? source, List<MethodDefinition> forced, ISet<MethodDefinition> keptSynchronous,
        Dictionary<Instruction, CutReason> withdrawn)
    {
        var result = new Result();
        var scanned = new HashSet<MethodDefinition>();
        var work = new Queue<MethodDefinition>();
        if (source is not null) { scanned.Add(source); work.Enqueue(source); }
        foreach (var m in forced)
        {
            if (rules.WhyNotAHandler(m) is { } why)
            {
                result.Diagnostics.Add(SourceLocator.Diagnostic("WEAV003", Severity.Warning,
                    $"[Stage] on {SourceLocator.Describe(m)} has no effect: {why.Detail}.", m, null));
                continue;
            }
            if (scanned.Add(m)) { result.Stages.Add(m); work.Enqueue(m); }
        }
        // [Stage] makes every call to the method a continuation, wherever it is.
        if (forced.Count > 0)
            foreach (var m in facts.AllMethods())
                if (scanned.Add(m) && m.HasBody && facts.Get(m).Calls.Any(c => forced.Contains(c.Callee))) work.Enqueue(m);

        while (work.Count > 0)
        {
            var caller = work.Dequeue();
            // An async stage's calls are in its body (its state machine's MoveNext), scanned as the stage.
            if (facts.AsyncBody(caller) is { } body && scanned.Add(body)) work.Enqueue(body);
            var cutsHere = caller == source || result.Stages.Contains(caller)
                           || facts.AsyncMethodOf(caller) is { } written && result.Stages.Contains(written);
            foreach (var (at, callee) in facts.Get(caller).Calls)
            {
                if (cutsHere && NotSupportedYet(at, callee) is { } what && !result.NotSupportedYet.ContainsKey(callee))
                    result.NotSupportedYet[callee] = (caller, at, what);
                if (at.OpCode.Code is not (Code.Call or Code.Callvirt) || result.Sites.ContainsKey(at)) continue;
                if (at.OpCode.Code == Code.Callvirt && facts.BoundField(callee) is null) continue;
                if (callee == caller && source == caller) continue;
                var isForced = forced.Contains(callee);
                if (!isForced && !IsStageCandidate(callee, source)) continue;
                CutReason? reason = null;
                if (HasAttribute(callee, "InlineAttribute")) reason = new(CutRule.InlineAttribute, "[Inline] keeps it synchronous");
                else if (options.Excludes(callee)) reason = new(CutRule.ExcludeOption, "the Exclude option of FodyWeavers.xml keeps it synchronous");
                else if (keptSynchronous.Contains(callee)) reason = new(CutRule.SharedWithSource, "it shares state with the source, which uses that state in a way it cannot be given or sent back (see WEAV020)");
                else if (rules.WhyNotAHandler(callee) is { } notHandler) reason = notHandler;
                else if (caller == source && rules.WhySetUp(caller, at, callee, HandlerCalls(source)) is { } setUp) reason = setUp;
                else if (withdrawn.TryGetValue(at, out var w)) reason = w;

                var site = new CallSite(caller, at, callee, reason);
                var point = SourceLocator.Find(caller, at);
                site.File = point?.Document.Url;
                site.Line = point?.StartLine ?? 0;
                result.Sites[at] = site;
                if (site.Cut && scanned.Add(callee))
                {
                    result.Stages.Add(callee);
                    work.Enqueue(callee);
                }
                else if (site.Cut && !result.Stages.Contains(callee))
                    result.Stages.Add(callee);
            }
        }
        return result;
    }

    /// <summary>
    /// Phase 2 of the model (docs/design.md §1): instance handlers, async handlers, and handlers passed as callbacks
    /// (lambdas and method groups). Such code is left as it is; null when the call is none of these.
    /// </summary>
    string? NotSupportedYet(Instruction at, MethodDefinition callee)
    {
        if (callee.IsConstructor || !callee.HasBody) return null;
        if (facts.AsyncBody(callee) is not null && callee.ReturnType.MetadataType == MetadataType.Void)
            return "it is an async void method; an async handler returns Task or ValueTask, so that its caller can await it";
        if (at.OpCode.Code is Code.Ldftn or Code.Ldvirtftn)
        {
            if (IsHandlerShaped(callee))
                return "it is passed as a method group (a callback); handlers passed as callbacks are not supported yet";
            if (callee.Name.Contains(">b__") && callee.ReturnType.MetadataType == MetadataType.Void
                && callee.Body.Instructions.Any(i => i.OpCode.Code == Code.Call && i.Operand is MethodReference m
                                                     && m.Resolve() is { } target && target.Module == callee.Module && IsHandlerShaped(target)))
                return "it is a lambda that calls a handler; lambdas passed as callbacks are not supported yet, so the calls inside it stay synchronous";
            return null;
        }
        if (!callee.IsStatic && facts.BoundField(callee) is null && callee.ReturnType.MetadataType == MetadataType.Void && !callee.IsSpecialName
            && !callee.IsVirtual && !IsCompilerGenerated(callee.DeclaringType) && !callee.Name.StartsWith("<", StringComparison.Ordinal))
            return "it is an instance method called on an object that is not the one of a static field set by its type's initializer (instance handlers are cut only on such objects)";
        return null;
    }

    static bool IsHandlerShaped(MethodDefinition method) =>
        method.IsStatic && method.ReturnType.MetadataType == MetadataType.Void && method.HasBody && !method.IsSpecialName
        && !method.Name.StartsWith("<", StringComparison.Ordinal) && !IsCompilerGenerated(method.DeclaringType);

    // Only calls to static void methods (or async ones returning a bare Task or ValueTask) of this module are candidates;
    // other calls are ordinary computation.
    bool IsStageCandidate(MethodDefinition callee, MethodDefinition? source) =>
        (callee.IsStatic || facts.BoundField(callee) is not null) && !callee.IsConstructor
        && (callee.ReturnType.MetadataType == MetadataType.Void || facts.AsyncBody(callee) is not null && MemberRules.IsBareTask(callee.ReturnType))
        && callee != source && (source is null || callee != facts.Written(source)) && !callee.Name.StartsWith("<", StringComparison.Ordinal)
        && !callee.IsSpecialName && callee.HasBody
        && !IsCompilerGenerated(callee.DeclaringType);

    static bool IsCompilerGenerated(TypeDefinition type) =>
        type.Name.StartsWith("<", StringComparison.Ordinal) || type.CustomAttributes.Any(a => a.AttributeType.Name == "CompilerGeneratedAttribute");

    List<(Instruction At, MethodDefinition Callee)>? sourceHandlerCalls;

    // The source's calls to methods that could be handlers, cut or not: the set-up rule looks at their order.
    List<(Instruction At, MethodDefinition Callee)> HandlerCalls(MethodDefinition source) =>
        sourceHandlerCalls ??= facts.Get(source).Calls
            .Where(c => c.At.OpCode.Code is Code.Call or Code.Callvirt && IsStageCandidate(c.Callee, source)).ToList();

    // Where each method of the module is called from; the calls never change, so it is built once.
    ILookup<MethodDefinition, Instruction>? callsTo;

    // A parameter is a handler's own only if every call of that handler in the assembly is a continuation.
    bool OwnsParameters(MethodDefinition caller, Result result, HashSet<MethodDefinition> stages, MethodDefinition? source)
    {
        if (caller == source) return true;
        if (!stages.Contains(caller)) return false;
        callsTo ??= facts.AllMethods().SelectMany(m => facts.Get(m).Calls).ToLookup(c => c.Callee, c => c.At);
        return callsTo[caller].All(result.IsCut);
    }

    public static bool HasAttribute(MethodDefinition method, string name) =>
        method.CustomAttributes.Any(a => a.AttributeType.Name == name && a.AttributeType.Namespace == "Weaving");
}
