using Mono.Cecil;
using Mono.Cecil.Cil;
using Weaving.Fody.Plan;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Decides whether one call can be cut (docs/design.md §2): cutting it must not change results under the ordering
/// contract. Returns null when it can, else the typed reason.
/// </summary>
public sealed class ContinuationRules(ModuleFacts facts, Closure closure, TypeRules types, MethodDefinition? source)
{
    /// <summary>Why <paramref name="callee"/> can never be a stage, or null when it can be one.</summary>
    public CutReason? WhyNotAHandler(MethodDefinition callee)
    {
        if (!callee.IsStatic && facts.BoundField(callee) is null)
            return new(CutRule.NotSupportedYet, "it is an instance method, and not every call of it is made on the one object of a static field set by its type's initializer");
        var isAsync = facts.AsyncBody(callee) is not null;
        if (isAsync && callee.ReturnType.MetadataType == MetadataType.Void)
            return new(CutRule.NotSupportedYet, "it is async void (an async handler returns Task or ValueTask)");
        if (callee.ReturnType.MetadataType != MetadataType.Void && !(isAsync && MemberRules.IsBareTask(callee.ReturnType)))
            return new(CutRule.NotAHandler, "it returns a value, so the caller waits for it");
        if (!callee.HasBody) return new(CutRule.NotAHandler, "it has no body");
        if (callee.IsConstructor) return new(CutRule.NotAHandler, "it is a constructor");
        if (callee.Parameters.Any(p => p.ParameterType.IsByReference)) return new(CutRule.RefOrOut, "it has ref or out parameters, so the caller waits for it");
        if (callee.HasGenericParameters || callee.DeclaringType.HasGenericParameters) return new(CutRule.NotSupportedYet, "it is generic, and async or called with a type parameter (a generic handler is cut, one handler per instantiation, when it is a static void method called with closed type arguments)");
        // What the handler never reads, or finds where it runs (the object of a static field every call passes), stays.
        foreach (var p in callee.Parameters.Where(p => facts.ReadsParameter(callee, p.Index) && facts.BoundParameter(callee, p.Index) is null))
            if (types.WhyNotTransferable(p.ParameterType) is { } why)
                return new(CutRule.CannotTravel, $"its parameter '{p.Name}' cannot travel in a message: {why}");
        return null;
    }

    /// <summary>Null when the call at <paramref name="call"/> in <paramref name="caller"/> is a continuation, else why not.</summary>
    /// <param name="isContinuation">Whether a call (anywhere in the module) is cut, as the fixed point currently has it.</param>
    /// <param name="ownsParameters">Whether the caller owns its parameters (every call of it is cut).</param>
    public CutReason? WhyNotCut(MethodDefinition caller, Instruction call, MethodDefinition callee,
        Func<Instruction, bool> isContinuation, bool ownsParameters)
    {
        if (InsideTryCatch(caller, call))
            return new(CutRule.InsideTryCatch, "it is inside a try block with a catch: the caller would catch the handler's exceptions");

        var calleeRuns = closure.OfEveryCall(callee);
        var footprint = new Footprint(closure.Footprint(calleeRuns), closure.UsesConsole(calleeRuns));
        var flow = facts.Get(caller).Flow!;

        // Effects on every path after the call.
        foreach (var ins in After(caller, call))
        {
            var why = Effect(ins, caller, call, flow, footprint, isContinuation);
            if (why is not null) return new(CutRule.EffectAfter, "after it the caller " + why);
        }

        // And after every synchronous call that enters the caller: what runs after the call runs up to the stage boundary.
        if (caller != source && AfterSynchronousEntries(caller, footprint, isContinuation) is { } entered) return entered;

        // Arguments handed over must be the caller's to give.
        for (var p = 0; p < callee.Parameters.Count; p++)
        {
            var parameter = callee.Parameters[p];
            if (types.IsImmutable(parameter.ParameterType) || !facts.ReadsParameter(callee, p) || facts.BoundParameter(callee, p) is not null) continue;
            var why = WhyNotOwned(caller, call, flow, p + (callee.HasThis ? 1 : 0), ownsParameters);
            if (why is not null) return new(CutRule.NotOwned, $"its argument '{parameter.Name}' is not the caller's to hand over: {why}");
        }
        return null;
    }

    /// <summary>
    /// A call the source makes once (not in a loop), after nothing but other set-ups, to a handler that writes state
    /// a handler it calls later reads: a set-up. Cutting it gains nothing, since its readers would wait for it (they
    /// would share that state and fuse with it); kept synchronous, what it sets up is frozen, and they run apart.
    /// Keeping a call synchronous never changes results, so this is a choice of speed, not of correctness.
    /// </summary>
    public CutReason? WhySetUp(MethodDefinition caller, Instruction call, MethodDefinition callee,
        IReadOnlyCollection<(Instruction At, MethodDefinition Callee)> handlerCalls)
    {
        if (caller != source) return null;
        // It depends on the source's code only, not on what is cut: decided once, whatever the round.
        if (setUps.TryGetValue(call, out var known)) return known;
        return setUps[call] = SetUp(caller, call, callee, handlerCalls);
    }

    readonly Dictionary<Instruction, CutReason?> setUps = new();
    readonly Dictionary<Instruction, HashSet<Instruction>> sourceAfter = new();

    // What may run after an instruction of the source: asked again and again by the set-up and console rules.
    HashSet<Instruction> SourceAfter(Instruction at)
    {
        if (!sourceAfter.TryGetValue(at, out var set)) sourceAfter[at] = set = new HashSet<Instruction>(After(source!, at));
        return set;
    }

    CutReason? SetUp(MethodDefinition caller, Instruction call, MethodDefinition callee,
        IReadOnlyCollection<(Instruction At, MethodDefinition Callee)> handlerCalls)
    {
        if (SourceAfter(call).Contains(call)) return null;
        // Only set-ups may come before it: ParseOptions(args); LoadTables(); then the feed.
        if (handlerCalls.Any(c => c.At != call && SourceAfter(c.At).Contains(call) && WhySetUp(caller, c.At, c.Callee, handlerCalls) is null))
            return null;
        var writes = closure.Footprint(closure.OfEveryCall(callee)).Writes;
        if (writes.Count == 0) return null;
        var after = SourceAfter(call);
        var laterCalls = handlerCalls.Where(c => after.Contains(c.At)).Select(c => c.Callee).Distinct()
            .Select(m => (Method: m, Footprint: closure.Footprint(closure.OfEveryCall(m)))).ToList();
        // State only it writes, that later handlers only read: kept synchronous, it is frozen; cut, it would be shared.
        foreach (var (later, footprint) in laterCalls)
            if (footprint.Reads.FirstOrDefault(f => writes.Contains(f) && !laterCalls.Any(c => c.Footprint.Writes.Contains(f))) is { } field)
                return new(CutRule.SetsUpState,
                    $"the source calls it once, before its other posts, to set up {field.DeclaringType.Name}.{field.Name}, which {SourceLocator.Describe(later)} reads: run synchronously, that state is frozen and its readers run apart");
        return null;
    }

    /// <summary>
    /// A method is entered as a stage (a message: nothing of the program runs after it in that thread) or synchronously:
    /// by a call that is not cut, from any method, recursion included. After such a call, its caller goes on, and so on
    /// through that caller's own synchronous entries: a post made in the method must pass the rule there too.
    /// </summary>
    CutReason? AfterSynchronousEntries(MethodDefinition method, Footprint handler, Func<Instruction, bool> isContinuation)
    {
        var seen = new HashSet<MethodDefinition> { method };
        var work = new Stack<MethodDefinition>();
        work.Push(method);
        while (work.Count > 0)
        {
            var entered = work.Pop();
            foreach (var (caller, at) in CallsTo(entered))
            {
                if (at.OpCode.Code is Code.Ldftn or Code.Ldvirtftn)
                    return new(CutRule.EnteredFromAnywhere,
                        $"{SourceLocator.Describe(entered)} is also taken as a delegate in {SourceLocator.Describe(caller)} (line {Line(caller, at)}), which may run it from anywhere");
                if (isContinuation(at)) continue;
                if (caller.IsConstructor && caller.IsStatic)
                    return new(CutRule.EnteredFromAnywhere,
                        $"{SourceLocator.Describe(entered)} is also called by the type initializer of {caller.DeclaringType.Name}, which runs whenever that type is first used");
                if (InsideTryCatch(caller, at))
                    return new(CutRule.EffectAfterInCaller,
                        $"{SourceLocator.Describe(entered)} is also called synchronously inside a try block with a catch in {SourceLocator.Describe(caller)} (line {Line(caller, at)}), which would catch the handler's exceptions");
                var flow = facts.Get(caller).Flow!;
                foreach (var ins in After(caller, at))
                    if (Effect(ins, caller, at, flow, handler, isContinuation) is { } why)
                        return new(CutRule.EffectAfterInCaller,
                            $"{SourceLocator.Describe(entered)} is also called synchronously by {SourceLocator.Describe(caller)} (line {Line(caller, at)}), and after that call it {why}");
                if (seen.Add(caller)) work.Push(caller);
            }
        }
        return null;
    }

    // Where each method of the module is called (or taken as a delegate) from; the calls never change, so it is built once.
    ILookup<MethodDefinition, (MethodDefinition Caller, Instruction At)>? callsTo;

    IEnumerable<(MethodDefinition Caller, Instruction At)> CallsTo(MethodDefinition method)
    {
        callsTo ??= facts.AllMethods().Where(m => m.HasBody)
            .SelectMany(m => facts.Get(m).Calls.Select(c => (Caller: m, c.At, c.Callee)))
            .ToLookup(c => c.Callee, c => (c.Caller, c.At));
        return callsTo[method];
    }

    // The catch an async method's body is wrapped in only hands the exception to its task (SetException): the caller
    // awaiting it sees the exception as it would a synchronous call's; it is not a catch the user wrote.
    static bool InsideTryCatch(MethodDefinition caller, Instruction call) =>
        caller.Body.ExceptionHandlers.Any(h => h.HandlerType is ExceptionHandlerType.Catch or ExceptionHandlerType.Filter
                                               && Inside(call, h.TryStart, h.TryEnd) && !HandsToTask(caller, h));

    static bool HandsToTask(MethodDefinition caller, ExceptionHandler handler) =>
        KeepsForFinally(caller, handler) ||
        StackFlow.IsAsyncBody(caller) && handler.HandlerType == ExceptionHandlerType.Catch
        && caller.Body.Instructions.Any(i => Inside(i, handler.HandlerStart, handler.HandlerEnd) && i.OpCode.Code == Code.Call
                                             && i.Operand is MethodReference { Name: "SetException" } m && MemberRules.IsAwaitPlumbing(m));

    /// <summary>What the handler may touch, everything it may run included (cut or not).</summary>
    sealed class Footprint((HashSet<FieldDefinition> Reads, HashSet<FieldDefinition> Writes) fields, bool console)
    {
        public HashSet<FieldDefinition> Reads { get; } = fields.Reads;
        public HashSet<FieldDefinition> Writes { get; } = fields.Writes;
        public bool Console { get; } = console;
    }

    string? Effect(Instruction ins, MethodDefinition caller, Instruction call, StackFlow flow, Footprint handler,
        Func<Instruction, bool> isContinuation)
    {
        switch (ins.OpCode.Code)
        {
            case Code.Call: case Code.Callvirt: case Code.Newobj:
            {
                var method = (MethodReference)ins.Operand;
                if (isContinuation(ins)) return null;
                if (MemberRules.IsEnumeratorPlumbing(method)) return EnumerationConflict(caller, ins, handler, isContinuation);
                if (MemberRules.IsAwaitPlumbing(method)) return null;
                if (RethrowsAfterFinally(caller, ins, flow)) return null;
                // Code of this module that the caller runs after the call must not touch what the handler touches.
                var own = facts.Own(method);
                if (own is { HasBody: true } && Conflict(caller, ins, own, handler, isContinuation) is { } conflict)
                    return conflict;
                // Beyond that, what code of this module does is known: when it does not touch what the handler touches
                // (checked above), ends no process and is given nothing the handler can reach, its order relative to the
                // handler is invisible. A call kept synchronous for a reason of its own then drags no other call along.
                if (own is { HasBody: true, IsVirtual: false } && !EndsTheProcess(own) && ArgumentsOutOfReach(caller, ins, call, flow, handler, isContinuation))
                    return null;
                // The console is one resource, tracked like a field: its order matters only against a handler that uses it.
                if (method.DeclaringType.FullName == "System.Console")
                    return handler.Console && !SourceDrainsFirst(caller, ins, isContinuation)
                        ? $"uses the console (line {Line(caller, ins)}), which the handler also writes to" : null;
                if (ins.OpCode.Code == Code.Newobj) return null;
                // A Task without a result is awaited for the effect that made it, as a void call is made for it.
                var discarded = StackFlow.ReturnsVoid(method) || ins.Next?.OpCode.Code == Code.Pop
                                || MemberRules.IsBareTask(method.ReturnType);
                if (!discarded) return null;
                // Changing an object that the caller made after or apart from the handler's arguments is computation:
                // nothing the handler can reach sees it.
                if (ChangesOnlyPrivateObjects(caller, ins, call, flow, method, isContinuation)) return null;
                if (ChangesOnlyStateApart(caller, ins, flow, method, handler)) return null;
                return $"calls {method.DeclaringType.Name}.{method.Name} (line {Line(caller, ins)}), an effect whose order relative to the handler might matter";
            }
            case Code.Calli:
                return $"makes an indirect call (line {Line(caller, ins)})";
            case Code.Throw when RethrowsAfterFinally(caller, ins, flow):
                return null;
            case Code.Throw: case Code.Rethrow:
                return $"may throw (line {Line(caller, ins)}), which would no longer stop the handler";
            case Code.Stsfld:
            {
                var field = facts.Own(ins.Operand as FieldReference);
                if (field is not null && (handler.Reads.Contains(field) || handler.Writes.Contains(field)))
                    return $"writes {field.DeclaringType.Name}.{field.Name} (line {Line(caller, ins)}), which the handler uses";
                return null;
            }
            case Code.Ldsfld: case Code.Ldsflda:
            {
                var field = facts.Own(ins.Operand as FieldReference);
                // The source reading what a stage changes is placement's concern: the stage fuses with the source
                // (WEAV020), with advice on moving the read into a handler.
                if (field is not null && handler.Writes.Contains(field) && caller != source)
                    return $"reads {field.DeclaringType.Name}.{field.Name} (line {Line(caller, ins)}), which the handler changes: it depends on the handler having finished";
                return null;
            }
            case Code.Stfld: case Code.Stobj: case Code.Initobj: case Code.Cpobj: case Code.Cpblk: case Code.Initblk:
            case Code.Stind_I: case Code.Stind_I1: case Code.Stind_I2: case Code.Stind_I4: case Code.Stind_I8:
            case Code.Stind_R4: case Code.Stind_R8: case Code.Stind_Ref:
            case Code.Stelem_Any: case Code.Stelem_I: case Code.Stelem_I1: case Code.Stelem_I2: case Code.Stelem_I4:
            case Code.Stelem_I8: case Code.Stelem_R4: case Code.Stelem_R8: case Code.Stelem_Ref:
            {
                // Writes into the caller's own locals (struct locals, an async method's locals in its state machine) or
                // objects only it can reach are computation.
                if (flow.StoresLocalOfStateMachine(ins)) return null;
                var target = flow.Operand(ins, 0);
                if (target.Count > 0 && target.All(o => o.Kind is OriginKind.LocalAddress or OriginKind.ArgumentAddress)) return null;
                if (IsPrivate(caller, flow, target, call, ins, isContinuation)) return null;
                return $"writes to memory the handler might see (line {Line(caller, ins)})";
            }
            default:
                return null;
        }
    }

    bool EndsTheProcess(MethodDefinition method) =>
        closure.OfEveryCall(method).Any(m => facts.Get(m).ExternalCalls.Any(MemberRules.EndsProcess));

    // Every argument of the call at ins is a value, an immutable object, or an object only the caller can reach.
    bool ArgumentsOutOfReach(MethodDefinition caller, Instruction ins, Instruction call, StackFlow flow, Footprint handler,
        Func<Instruction, bool> isContinuation)
    {
        var method = (MethodReference)ins.Operand;
        var pops = StackFlow.Pops(ins, caller);
        var receiver = method.HasThis && ins.OpCode.Code != Code.Newobj ? 1 : 0;
        for (var n = 0; n < pops; n++)
        {
            var type = n < receiver ? method.DeclaringType : method.Parameters[n - receiver].ParameterType;
            if (type.IsValueType && !type.IsByReference || types.IsImmutable(type)) continue;
            var operand = flow.Operand(ins, n);
            if (!IsPrivate(caller, flow, operand, call, ins, isContinuation) && !OnlyStateApart(caller, operand, handler)) return false;
        }
        return true;
    }

    // The value is the object of static fields the handler does not touch (or a part of one): what is done to it cannot
    // be seen by the handler. "this" of a bound method, and a bound parameter, are such objects.
    bool OnlyStateApart(MethodDefinition caller, IReadOnlyCollection<Origin> operand, Footprint handler)
    {
        var binding = facts.Binding(caller);
        var fields = new List<FieldDefinition?>();
        foreach (var o in operand)
        {
            if (o.Kind == OriginKind.Static) fields.Add(facts.Own(o.Field));
            else if (o.Kind == OriginKind.Argument && binding?.Arguments.TryGetValue(o.Index, out var bound) == true) fields.Add(facts.Own(bound));
            // A local stands for what was stored in it, which the set holds too.
            else if (!o.Equals(Origin.Unknown) && o.Kind != OriginKind.Local) return false;
        }
        return fields.Count > 0 && fields.All(f => f is not null && !handler.Reads.Contains(f) && !handler.Writes.Contains(f));
    }

    // A call into this module after the cut call: does what it may run conflict with what the handler may run?
    /// <summary>
    /// Moving an enumerator on (<c>MoveNext</c>, <c>Current</c>, <c>Dispose</c>, and their async forms) may run code of
    /// this module: the body of an iterator the caller called (it runs as it is enumerated, a piece per item), an
    /// enumerator class of the program, a lambda the caller made for a LINQ operator. An iterator that prints, or sets
    /// a field the handler reads, between the items it feeds the handler must keep its order against the handler's.
    /// The source included: what its iterator reads while feeding is read during the feed, not before its first post.
    /// </summary>
    string? EnumerationConflict(MethodDefinition caller, Instruction at, Footprint handler, Func<Instruction, bool> isContinuation)
    {
        foreach (var code in EnumerationCode(caller))
        {
            if (Conflict(caller, at, code, handler, isContinuation, $"an enumerator's {(at.Operand as MethodReference)?.Name}, which runs {SourceLocator.Describe(code)}") is { } conflict)
                return conflict;
            var (reads, _) = closure.Footprint(closure.OfEveryCall(code));
            if (reads.FirstOrDefault(handler.Writes.Contains) is { } read)
                return $"moves an enumerator on (line {Line(caller, at)}), which runs {SourceLocator.Describe(code)} and reads " +
                       $"{read.DeclaringType.Name}.{read.Name} that the handler changes";
        }
        return null;
    }

    readonly Dictionary<MethodDefinition, List<MethodDefinition>> enumerationCode = new();

    /// <summary>The code of this module that enumerating in <paramref name="caller"/> may run (see <see cref="EnumerationConflict"/>).</summary>
    List<MethodDefinition> EnumerationCode(MethodDefinition caller)
    {
        if (enumerationCode.TryGetValue(caller, out var known)) return known;
        var code = new List<MethodDefinition>();
        void AddType(TypeDefinition type)
        {
            foreach (var m in type.Methods)
                if (m.HasBody && !m.IsConstructor && !code.Contains(m)) code.Add(m);
        }
        static bool Enumerates(TypeDefinition type) =>
            type.Interfaces.Any(i => i.InterfaceType.FullName is "System.Collections.IEnumerator" or "System.Collections.IEnumerable"
                                     || i.InterfaceType.Name.StartsWith("IAsyncEnumera", StringComparison.Ordinal));
        foreach (var ins in caller.Body.Instructions)
        {
            var target = ins.OpCode.Code switch
            {
                Code.Call or Code.Callvirt or Code.Newobj or Code.Ldftn or Code.Ldvirtftn => facts.Own(ins.Operand as MethodReference),
                _ => null,
            };
            if (target is null || !target.HasBody) continue;
            if (ModuleFacts.IteratorStateMachine(target) is { } iterator) AddType(iterator);
            else if (ins.OpCode.Code is Code.Ldftn or Code.Ldvirtftn)
            {
                if (ForDeferredQuery(ins) && !code.Contains(target)) code.Add(target);
            }
            else if (Enumerates(target.DeclaringType))
            {
                AddType(target.DeclaringType);
                // An enumerable's GetEnumerator makes the enumerator whose MoveNext runs.
                foreach (var made in target.DeclaringType.Methods.Where(m => m.HasBody).SelectMany(m => m.Body.Instructions)
                             .Where(i => i.OpCode.Code == Code.Newobj).Select(i => facts.Own(i.Operand as MethodReference)?.DeclaringType))
                    if (made is not null && Enumerates(made)) AddType(made);
            }
        }
        enumerationCode[caller] = code;
        return code;
    }

    // A delegate made for a query that runs as it is enumerated (Select, Where, …: a call returning an enumerable): the
    // next call after it (past the delegate's constructor and the compiler's cache of it) is the one it is given to.
    static bool ForDeferredQuery(Instruction ldftn)
    {
        for (var next = ldftn.Next; next is not null; next = next.Next)
        {
            if (next.OpCode.Code is Code.Newobj or Code.Dup or Code.Stsfld or Code.Ldsfld or Code.Ldloc or Code.Ldloc_0 or Code.Ldloc_1
                or Code.Ldloc_2 or Code.Ldloc_3 or Code.Ldloc_S or Code.Ldarg or Code.Ldarg_0 or Code.Ldarg_1 or Code.Ldarg_2
                or Code.Ldarg_3 or Code.Ldarg_S or Code.Ldc_I4 or Code.Ldc_I4_S or Code.Ldc_I4_0 or Code.Ldc_I4_1 or Code.Nop)
                continue;
            return next.OpCode.Code is Code.Call or Code.Callvirt && next.Operand is MethodReference { ReturnType: var returned }
                   && returned.Name.StartsWith("I", StringComparison.Ordinal)
                   && (returned.Name.Contains("Enumerable") || returned.Name.StartsWith("IGrouping", StringComparison.Ordinal));
        }
        return false;
    }

    string? Conflict(MethodDefinition caller, Instruction at, MethodDefinition method, Footprint handler, Func<Instruction, bool> isContinuation,
        string? name = null)
    {
        var runs = closure.OfEveryCall(method);
        var (reads, writes) = closure.Footprint(runs);
        name ??= $"{method.DeclaringType.Name}.{method.Name}";
        if (writes.FirstOrDefault(f => handler.Reads.Contains(f) || handler.Writes.Contains(f)) is { } written)
            return $"calls {name} (line {Line(caller, at)}), which changes {written.DeclaringType.Name}.{written.Name} that the handler uses";
        if (caller != source && reads.FirstOrDefault(handler.Writes.Contains) is { } read)
            return $"calls {name} (line {Line(caller, at)}), which reads {read.DeclaringType.Name}.{read.Name} that the handler changes";
        if (handler.Console && closure.UsesConsole(runs) && !SourceDrainsFirst(caller, at, isContinuation))
            return $"calls {name} (line {Line(caller, at)}), which writes to the console, as the handler does";
        return null;
    }

    /// <summary>
    /// The source may use the console after its posts to stages that print, once no such post can follow: there it
    /// first waits for their work to finish (a drain, see <see cref="SourceConsoleDrains"/>), and prints after them.
    /// </summary>
    bool SourceDrainsFirst(MethodDefinition caller, Instruction at, Func<Instruction, bool> isContinuation) =>
        caller == source && !SourceAfter(at).Any(ins => IsPrintingPost(ins, isContinuation));

    bool IsPrintingPost(Instruction ins, Func<Instruction, bool> isContinuation) =>
        isContinuation(ins) && facts.Own(ins.Operand as MethodReference) is { } callee && closure.UsesConsole(closure.OfEveryCall(callee));

    /// <summary>Where the source uses the console after a post to a stage that prints: it drains there first.</summary>
    public List<Instruction> SourceConsoleDrains(Func<Instruction, bool> isCut)
    {
        var drains = new List<Instruction>();
        if (source is null) return drains;
        var printingPosts = source.Body.Instructions.Where(i => IsPrintingPost(i, isCut)).ToList();
        if (printingPosts.Count == 0) return drains;
        var afterPosts = new HashSet<Instruction>(printingPosts.SelectMany(SourceAfter));
        foreach (var ins in source.Body.Instructions.Where(afterPosts.Contains))
        {
            if (ins.OpCode.Code is not (Code.Call or Code.Callvirt or Code.Newobj) || isCut(ins)) continue;
            var method = (MethodReference)ins.Operand;
            var prints = method.DeclaringType.FullName == "System.Console"
                         || facts.Own(method) is { HasBody: true } own && closure.UsesConsole(closure.OfEveryCall(own));
            if (prints) drains.Add(ins);
        }
        return drains;
    }

    // A collection reached only through static fields the handler does not touch (a detector's own dictionary, after it
    // raised an alert): changing it is invisible to the handler. Only in-memory collections: a writer in a static field
    // still writes to a file, whose order is visible.
    bool ChangesOnlyStateApart(MethodDefinition caller, Instruction ins, StackFlow flow, MethodReference method, Footprint handler)
    {
        if (!method.HasThis || facts.Own(method) is not null) return false;
        var type = method.DeclaringType.GetElementType();
        if (!(type.Namespace is "System.Collections.Generic" or "System.Collections" or "System.Collections.Concurrent"
              || type.FullName is "System.Text.StringBuilder")) return false;
        var receiver = flow.Operand(ins, 0);
        var statics = receiver.Where(o => o.Kind == OriginKind.Static).Select(o => facts.Own(o.Field)).ToList();
        return statics.Count > 0 && statics.All(f => f is not null && !handler.Reads.Contains(f) && !handler.Writes.Contains(f))
               && receiver.All(o => o.Kind is OriginKind.Static or OriginKind.Local || o.Equals(Origin.Unknown)
                                    || o.Kind == OriginKind.Argument && facts.Binding(caller)?.Arguments.ContainsKey(o.Index) == true);
    }

    // A call of another assembly that changes only objects the caller made itself and did not hand over or store.
    bool ChangesOnlyPrivateObjects(MethodDefinition caller, Instruction ins, Instruction call, StackFlow flow, MethodReference method,
        Func<Instruction, bool> isContinuation)
    {
        if (facts.Own(method) is not null) return false;
        var type = method.DeclaringType.GetElementType().FullName;
        if (!method.HasThis)
        {
            // Static methods of another assembly may have effects of their own; only these just fill arrays.
            if (type is not ("System.Runtime.CompilerServices.RuntimeHelpers" or "System.Array")) return false;
            var pops = StackFlow.Pops(ins, caller);
            for (var n = 0; n < pops; n++)
            {
                var operand = flow.Operand(ins, n);
                if (operand.Any(o => o.Kind is OriginKind.Fresh or OriginKind.Local or OriginKind.Argument or OriginKind.Static)
                    && !IsPrivate(caller, flow, operand, call, ins, isContinuation)) return false;
            }
            return true;
        }
        if (type.StartsWith("System.IO.", StringComparison.Ordinal) || type.StartsWith("System.Net.", StringComparison.Ordinal)
            || type.StartsWith("System.Threading.", StringComparison.Ordinal) || type == "System.Random") return false;
        var receiver = flow.Operand(ins, 0);
        // A struct in the caller's own local (a string interpolation handler, a span) is the caller's.
        if (receiver.Count > 0 && receiver.All(o => o.Kind == OriginKind.LocalAddress)) return true;
        return IsPrivate(caller, flow, receiver, call, ins, isContinuation);
    }

    // Every value is an object this method allocated, that it does not pass to the cut call nor store anywhere.
    // The object used at `at`: made by this method, and not the one the cut call took (or, when the call took one made at
    // the same place, a newer one: `at` cannot be reached from the call without making it again, as in a loop that
    // builds a new list for each post).
    bool IsPrivate(MethodDefinition caller, StackFlow flow, IReadOnlyCollection<Origin> origins, Instruction call, Instruction at,
        Func<Instruction, bool> isContinuation)
    {
        if (origins.Count == 0 || !origins.Any(o => o.Kind == OriginKind.Fresh)) return false;
        if (origins.Any(o => o.Kind is not (OriginKind.Fresh or OriginKind.Local))) return false;
        var pops = StackFlow.Pops(call, caller);
        foreach (var fresh in origins.Where(o => o.Kind == OriginKind.Fresh))
        {
            var made = (Instruction)fresh.Item!;
            for (var n = 0; n < pops; n++)
                if (flow.Operand(call, n).Contains(fresh) && Reachable(caller, call, kill: i => i == made).Contains(at)) return false;
            // Handed to a later continuation is no escape from this handler: it is given away after the changes are made.
            if (Escapes(caller, flow, fresh, call, isContinuation) is not null) return false;
        }
        return true;
    }

    string? WhyNotOwned(MethodDefinition caller, Instruction call, StackFlow flow, int parameter, bool ownsParameters) =>
        WhyNotOwned(caller, call, flow, flow.Operand(call, parameter), ownsParameters, 0);

    string? WhyNotOwned(MethodDefinition caller, Instruction call, StackFlow flow, IReadOnlyCollection<Origin> origins, bool ownsParameters, int depth)
    {
        if (origins.Count == 0) return "where it comes from is unknown";
        foreach (var o in origins)
        {
            switch (o.Kind)
            {
                case OriginKind.Static:
                case OriginKind.StaticAddress:
                    return $"it is the object of static field {o.Field?.Name}, which others can reach";
                case OriginKind.Fresh:
                    // A new object is the caller's, but what it holds is handed over with it, and arrives as a copy: a
                    // customer read out of a table and put in a new order would be changed in the copy only.
                    if (HeldNotOwned(caller, flow, o, ownsParameters, depth) is { } held) return held;
                    break;
                case OriginKind.CallResult:
                    // A result made by another assembly's method (Split, ToList, ...) is new; an element read out of a
                    // collection (an indexer) may still be reachable from the collection.
                    var made = (MethodReference)((Instruction)o.Item!).Operand;
                    if (made.Name is "get_Item" or "get_Current" or "get_Value" or "Peek" or "First" or "Last" or "ElementAt")
                        return $"it is an element of a collection ({made.Name}), which still holds it";
                    break;
                case OriginKind.Local:
                    if (ReadLater(caller, call, ins => IsLocalUse(ins, o.Index), ins => IsLocalStore(ins, o.Index)) is { } at)
                        return $"the caller uses it again after the call (line {Line(caller, at)})";
                    if (Escapes(caller, flow, o, call) is { } escape)
                        return $"the caller also stores or passes it elsewhere (line {Line(caller, escape)})";
                    break;
                case OriginKind.Argument:
                    if (!ownsParameters)
                        return "it is the caller's parameter, and the caller is also called synchronously, so its own caller may still hold it";
                    if (ReadLater(caller, call, ins => IsArgumentUse(ins, o.Index), ins => IsArgumentStore(ins, o.Index)) is { } argAt)
                        return $"the caller uses it again after the call (line {Line(caller, argAt)})";
                    if (Escapes(caller, flow, o, call) is { } argEscape)
                        return $"the caller also stores or passes it elsewhere (line {Line(caller, argEscape)})";
                    break;
                default:
                    return "where it comes from is not known to be the caller's own object";
            }
        }
        return null;
    }

    // What a new object is given to hold, by its constructor or a setter called on it, must be the caller's as well.
    string? HeldNotOwned(MethodDefinition caller, StackFlow flow, Origin fresh, bool ownsParameters, int depth)
    {
        if (depth >= 3 || fresh.Item is not Instruction made || made.OpCode.Code != Code.Newobj) return null;
        var constructor = (MethodReference)made.Operand;
        for (var n = 0; n < constructor.Parameters.Count; n++)
            if (HeldValueNotOwned(caller, made, flow, n, constructor.Parameters[n].ParameterType, constructor.Parameters[n].Name, ownsParameters, depth) is { } why)
                return why;
        foreach (var ins in caller.Body.Instructions)
            if (ins.OpCode.Code is Code.Call or Code.Callvirt && ins.Operand is MethodReference { HasThis: true, Name: var name } setter
                && name.StartsWith("set_", StringComparison.Ordinal) && setter.Parameters.Count == 1 && flow.Operand(ins, 0).Contains(fresh)
                && HeldValueNotOwned(caller, ins, flow, 1, setter.Parameters[0].ParameterType, name.Substring(4), ownsParameters, depth) is { } why)
                return why;
        return null;
    }

    string? HeldValueNotOwned(MethodDefinition caller, Instruction at, StackFlow flow, int operand, TypeReference type, string held, bool ownsParameters, int depth)
    {
        if (types.IsImmutable(type) || type.IsValueType && type is not GenericInstanceType) return null;
        return WhyNotOwned(caller, at, flow, flow.Operand(at, operand), ownsParameters, depth + 1) is { } why ? $"it holds '{held}': {why}" : null;
    }

    // Another use of the object that lets someone else reach it: stored in a field or an array, or passed to a method
    // that may keep it. Uses after the call are found by the path search; this looks at the whole method.
    Instruction? Escapes(MethodDefinition caller, StackFlow flow, Origin origin, Instruction call, Func<Instruction, bool>? handedOver = null)
    {
        foreach (var ins in caller.Body.Instructions)
        {
            if (ins == call || handedOver?.Invoke(ins) == true) continue;
            var code = ins.OpCode.Code;
            if (code is Code.Stsfld && flow.Operand(ins, 0).Contains(origin)) return ins;
            if (code is Code.Stfld or Code.Stind_Ref or Code.Stobj && flow.Operand(ins, 1).Contains(origin)) return ins;
            if (code is Code.Stelem_Ref or Code.Stelem_Any && flow.Operand(ins, 2).Contains(origin)) return ins;
            if (code is Code.Ret && !StackFlow.ReturnsVoid(caller) && flow.Operand(ins, 0).Contains(origin)) return ins;
            if (code is Code.Call or Code.Callvirt or Code.Newobj)
            {
                var callee = (MethodReference)ins.Operand;
                if (MemberRules.IsEnumeratorPlumbing(callee)) continue;
                var pops = StackFlow.Pops(ins, caller);
                var receiver = callee.HasThis && code != Code.Newobj ? 1 : 0;
                var own = facts.Own(callee);
                for (var n = 0; n < pops; n++)
                {
                    if (!flow.Operand(ins, n).Contains(origin)) continue;
                    if (own is not null)
                    {
                        var argument = code == Code.Newobj ? n + 1 : n;
                        if (!own.HasBody || (code == Code.Callvirt && own.IsVirtual && !own.IsFinal) || facts.MayRetainArgument(own, argument))
                            return ins;
                    }
                    else if (n >= receiver && MemberRules.MayRetainArgument(callee)) return ins;
                }
            }
        }
        return null;
    }

    /// <summary>
    /// Instructions that may run before <paramref name="at"/> on some path from the method's start that has not passed
    /// it yet. An async method's body is entered again after each await, at the point it resumes: that is not a path
    /// from its start (it passed through the await first), so the jumps to resume points are not followed.
    /// </summary>
    public static HashSet<Instruction> Before(MethodDefinition method, Instruction at)
    {
        var asyncBody = StackFlow.IsAsyncBody(method);
        var state = asyncBody ? StateLocal(method) : null;
        var seen = new HashSet<Instruction>();
        var work = new Stack<Instruction>();
        work.Push(method.Body.Instructions[0]);
        while (work.Count > 0)
        {
            var ins = work.Pop();
            if (ins == at || !seen.Add(ins)) continue;
            // The body's first run (state -1) falls through every test of its state: the jumps go to resume points.
            var dispatch = state is not null && ins.OpCode.FlowControl == FlowControl.Cond_Branch && TestsState(ins, state.Value);
            foreach (var next in Successors(method, ins))
            {
                if (dispatch && next != ins.Next) continue;
                if (!(asyncBody && ins.OpCode.FlowControl == FlowControl.Cond_Branch && IsResumePoint(next))) work.Push(next);
            }
        }
        return seen;
    }

    // The local an async body copies its state into on entry (ldarg.0; ldfld <>1__state; stloc n).
    static int? StateLocal(MethodDefinition body)
    {
        foreach (var ins in body.Body.Instructions.Take(8))
            if (ins.OpCode.Code == Code.Ldfld && ins.Operand is FieldReference { Name: "<>1__state" } && ins.Next is { } store
                && store.OpCode.Code is Code.Stloc or Code.Stloc_S or Code.Stloc_0 or Code.Stloc_1 or Code.Stloc_2 or Code.Stloc_3)
                return StackFlow.LocalIndex(store);
        return null;
    }

    // A branch on the state local: "ldloc state; [ldc.i4 n;] branch".
    static bool TestsState(Instruction branch, int state)
    {
        var operand = branch.Previous;
        if (operand is not null && operand.OpCode.Code is Code.Ldc_I4 or Code.Ldc_I4_S or Code.Ldc_I4_0 or Code.Ldc_I4_1 or Code.Ldc_I4_2
                or Code.Ldc_I4_3 or Code.Ldc_I4_4 or Code.Ldc_I4_5 or Code.Ldc_I4_6 or Code.Ldc_I4_7 or Code.Ldc_I4_8 or Code.Ldc_I4_M1)
            operand = operand.Previous;
        return operand is not null && operand.OpCode.Code is Code.Ldloc or Code.Ldloc_S or Code.Ldloc_0 or Code.Ldloc_1 or Code.Ldloc_2 or Code.Ldloc_3
               && StackFlow.LocalIndex(operand) == state;
    }

    /// <summary>Whether some path from the method's start to its end does not pass <paramref name="at"/>.</summary>
    public static bool Avoidable(MethodDefinition method, Instruction at) =>
        Before(method, at).Any(i => i.OpCode.FlowControl == FlowControl.Return || i.OpCode.Code is Code.Leave or Code.Leave_S && IsLastLeave(method, i));

    // Where an async body resumes after an await: it takes its awaiter back out of its state machine.
    static bool IsResumePoint(Instruction ins)
    {
        // The dispatch may jump through a branch first.
        for (var hops = 0; ins.OpCode.Code is Code.Br or Code.Br_S or Code.Nop && hops < 4; hops++)
            ins = ins.OpCode.Code == Code.Nop ? ins.Next : (Instruction)ins.Operand;
        return ins.OpCode.Code == Code.Ldarg_0 && ins.Next is { OpCode.Code: Code.Ldfld } load && load.Operand is FieldReference f
               && f.Name.StartsWith("<>u__", StringComparison.Ordinal);
    }

    // A leave out of the outermost try of an async body ends the method (it goes to SetResult).
    // An await in a finally (await using, await foreach) is lowered to a catch of System.Object, which C# cannot write:
    // it keeps the exception, runs the finally's code, and throws it again. It is a finally, not a catch.
    static bool KeepsForFinally(MethodDefinition caller, ExceptionHandler handler) =>
        StackFlow.IsAsyncBody(caller) && handler.HandlerType == ExceptionHandlerType.Catch && handler.CatchType?.FullName == "System.Object";

    // The throw at the end of such a lowered finally: the exception the try met, thrown on (never a new one).
    static bool RethrowsAfterFinally(MethodDefinition caller, Instruction ins, StackFlow flow) =>
        caller.Body.ExceptionHandlers.Any(h => KeepsForFinally(caller, h))
        && (ins.OpCode.Code == Code.Throw ? !flow.Operand(ins, 0).Any(o => o.Kind == OriginKind.Fresh)
            : ins.Operand is MethodReference { Name: "Throw" or "Capture" } m && m.DeclaringType.FullName == "System.Runtime.ExceptionServices.ExceptionDispatchInfo");

    static bool IsLastLeave(MethodDefinition method, Instruction leave) =>
        StackFlow.IsAsyncBody(method) && method.Body.ExceptionHandlers.Any(h => h.HandlerType == ExceptionHandlerType.Catch
            && Inside(leave, h.TryStart, h.TryEnd) && !Inside((Instruction)leave.Operand, h.TryStart, h.TryEnd) && HandsToTask(method, h));

    /// <summary>Instructions that may run after <paramref name="call"/> returns, up to the caller's exit (loops included).</summary>
    public static IEnumerable<Instruction> After(MethodDefinition caller, Instruction call) => Reachable(caller, call, kill: null);

    // A path search: is there a path from the call to a use, not passing a store that kills the value?
    static Instruction? ReadLater(MethodDefinition caller, Instruction call, Func<Instruction, bool> use, Func<Instruction, bool> kill) =>
        Reachable(caller, call, kill).FirstOrDefault(use);

    // Depth first from the instruction after the call; a path stops after an instruction that kills what is looked for.
    static IEnumerable<Instruction> Reachable(MethodDefinition caller, Instruction call, Func<Instruction, bool>? kill)
    {
        var seen = new HashSet<Instruction>();
        var work = new Stack<Instruction>();
        foreach (var next in Successors(caller, call)) work.Push(next);
        while (work.Count > 0)
        {
            var ins = work.Pop();
            if (!seen.Add(ins)) continue;
            yield return ins;
            if (kill?.Invoke(ins) == true) continue;
            foreach (var next in Successors(caller, ins)) work.Push(next);
        }
    }

    static IEnumerable<Instruction> Successors(MethodDefinition method, Instruction ins)
    {
        foreach (var s in StackFlow.Successors(ins)) yield return s;
        if (ins.OpCode.Code is Code.Leave or Code.Leave_S)
        {
            // Leaving a try runs its finally block first.
            var target = (Instruction)ins.Operand;
            foreach (var handler in method.Body.ExceptionHandlers)
                if (handler.HandlerType is ExceptionHandlerType.Finally or ExceptionHandlerType.Fault
                    && Inside(ins, handler.TryStart, handler.TryEnd) && !Inside(target, handler.TryStart, handler.TryEnd))
                    yield return handler.HandlerStart;
        }
    }

    static bool Inside(Instruction ins, Instruction start, Instruction? end) =>
        ins.Offset >= start.Offset && (end is null || ins.Offset < end.Offset);

    static bool IsLocalUse(Instruction ins, int index) =>
        ins.OpCode.Code is Code.Ldloc_0 or Code.Ldloc_1 or Code.Ldloc_2 or Code.Ldloc_3 or Code.Ldloc or Code.Ldloc_S
            or Code.Ldloca or Code.Ldloca_S && StackFlow.LocalIndex(ins) == index;

    static bool IsLocalStore(Instruction ins, int index) =>
        ins.OpCode.Code is Code.Stloc_0 or Code.Stloc_1 or Code.Stloc_2 or Code.Stloc_3 or Code.Stloc or Code.Stloc_S
        && StackFlow.LocalIndex(ins) == index;

    static bool IsArgumentUse(Instruction ins, int index) =>
        ins.OpCode.Code is Code.Ldarg_0 or Code.Ldarg_1 or Code.Ldarg_2 or Code.Ldarg_3 or Code.Ldarg or Code.Ldarg_S
            or Code.Ldarga or Code.Ldarga_S && StackFlow.ArgumentIndex(ins) == index;

    static bool IsArgumentStore(Instruction ins, int index) =>
        ins.OpCode.Code is Code.Starg or Code.Starg_S && StackFlow.ArgumentIndex(ins) == index;

    static int Line(MethodDefinition method, Instruction ins) => SourceLocator.Find(method, ins)?.StartLine ?? 0;
}
