using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Decides whether one call can be cut (DESIGN section 2): cutting it must not change results under the ordering
/// contract. Returns null when it can, else the reason, written for the user.
/// </summary>
public sealed class ContinuationRules(ModuleFacts facts, Closure closure, TypeRules types)
{
    /// <summary>Why <paramref name="callee"/> can never be a stage, or null when it can be one.</summary>
    public string? WhyNotAHandler(MethodDefinition callee)
    {
        if (!callee.IsStatic) return "it is an instance method (instance handlers are not supported yet)";
        if (callee.ReturnType.MetadataType != MetadataType.Void) return "it returns a value, so the caller waits for it";
        if (callee.Parameters.Any(p => p.ParameterType.IsByReference)) return "it has ref or out parameters, so the caller waits for it";
        if (callee.HasGenericParameters || callee.DeclaringType.HasGenericParameters) return "it is generic (generic handlers are not supported yet)";
        if (!callee.HasBody) return "it has no body";
        if (callee.IsConstructor) return "it is a constructor";
        if (callee.CustomAttributes.Any(a => a.AttributeType.Name == "AsyncStateMachineAttribute"))
            return "it is async (async handlers are not supported yet)";
        foreach (var p in callee.Parameters)
            if (types.WhyNotTransferable(p.ParameterType) is { } why)
                return $"its parameter '{p.Name}' cannot travel in a message: {why}";
        return null;
    }

    /// <summary>Null when the call at <paramref name="call"/> in <paramref name="caller"/> is a continuation, else why not.</summary>
    /// <param name="isContinuation">Whether another call in the caller is cut (for calls that follow this one).</param>
    /// <param name="ownsParameters">Whether the caller owns its parameters (every call of it is cut).</param>
    public string? WhyNotCut(MethodDefinition caller, Instruction call, MethodDefinition callee,
        Func<Instruction, bool> isContinuation, bool ownsParameters)
    {
        var body = caller.Body;
        foreach (var handler in body.ExceptionHandlers)
            if (handler.HandlerType is ExceptionHandlerType.Catch or ExceptionHandlerType.Filter && Inside(call, handler.TryStart, handler.TryEnd))
                return "it is inside a try block with a catch: the caller would catch the handler's exceptions";

        var calleeRuns = closure.OfEveryCall(callee);
        var (calleeReads, calleeWrites) = closure.Footprint(calleeRuns);
        var flow = facts.Get(caller).Flow;

        // Effects on every path after the call.
        foreach (var ins in After(caller, call))
        {
            var why = Effect(ins, caller, flow, calleeReads, calleeWrites, isContinuation);
            if (why is not null) return why;
        }

        // Arguments handed over must be the caller's to give.
        for (var p = 0; p < callee.Parameters.Count; p++)
        {
            var parameter = callee.Parameters[p];
            if (types.IsImmutable(parameter.ParameterType)) continue;
            var why = WhyNotOwned(caller, call, flow, p, ownsParameters);
            if (why is not null) return $"its argument '{parameter.Name}' is not the caller's to hand over: {why}";
        }
        return null;
    }

    string? Effect(Instruction ins, MethodDefinition caller, StackFlow flow,
        HashSet<FieldDefinition> calleeReads, HashSet<FieldDefinition> calleeWrites, Func<Instruction, bool> isContinuation)
    {
        switch (ins.OpCode.Code)
        {
            case Code.Call: case Code.Callvirt:
            {
                var method = (MethodReference)ins.Operand;
                if (isContinuation(ins)) return null;
                if (MemberRules.IsEnumeratorPlumbing(method)) return null;
                if (method.ReturnType.MetadataType != MetadataType.Void && ins.Next?.OpCode.Code != Code.Pop) return null;
                return $"after it the caller calls {method.DeclaringType.Name}.{method.Name} (line {Line(caller, ins)}), an effect whose order relative to the handler might matter";
            }
            case Code.Calli:
                return $"after it the caller makes an indirect call (line {Line(caller, ins)})";
            case Code.Throw: case Code.Rethrow:
                return $"after it the caller may throw (line {Line(caller, ins)}), which would no longer stop the handler";
            case Code.Stsfld:
            {
                var field = facts.Own(ins.Operand as FieldReference);
                if (field is not null && (calleeReads.Contains(field) || calleeWrites.Contains(field)))
                    return $"after it the caller writes {field.DeclaringType.Name}.{field.Name} (line {Line(caller, ins)}), which the handler uses";
                return null;
            }
            case Code.Ldsfld: case Code.Ldsflda:
            {
                var field = facts.Own(ins.Operand as FieldReference);
                if (field is not null && calleeWrites.Contains(field))
                    return $"after it the caller reads {field.DeclaringType.Name}.{field.Name} (line {Line(caller, ins)}), which the handler changes: it depends on the handler having finished";
                return null;
            }
            case Code.Stfld: case Code.Stobj: case Code.Initobj: case Code.Cpobj: case Code.Cpblk: case Code.Initblk:
            case Code.Stind_I: case Code.Stind_I1: case Code.Stind_I2: case Code.Stind_I4: case Code.Stind_I8:
            case Code.Stind_R4: case Code.Stind_R8: case Code.Stind_Ref:
            case Code.Stelem_Any: case Code.Stelem_I: case Code.Stelem_I1: case Code.Stelem_I2: case Code.Stelem_I4:
            case Code.Stelem_I8: case Code.Stelem_R4: case Code.Stelem_R8: case Code.Stelem_Ref:
            {
                // Writes into the caller's own locals (struct locals) are computation, not effects.
                var target = flow.Operand(ins, 0);
                if (target.Count > 0 && target.All(o => o.Kind is OriginKind.LocalAddress or OriginKind.ArgumentAddress)) return null;
                return $"after it the caller writes to memory the handler might see (line {Line(caller, ins)})";
            }
            default:
                return null;
        }
    }

    string? WhyNotOwned(MethodDefinition caller, Instruction call, StackFlow flow, int parameter, bool ownsParameters)
    {
        var origins = flow.Operand(call, parameter);
        if (origins.Count == 0) return "where it comes from is unknown";
        foreach (var o in origins)
        {
            switch (o.Kind)
            {
                case OriginKind.Static:
                case OriginKind.StaticAddress:
                    return $"it is the object of static field {o.Field?.Name}, which others can reach";
                case OriginKind.Fresh:
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

    // Another use of the object that lets someone else reach it: stored in a field or array, passed to another call.
    Instruction? Escapes(MethodDefinition caller, StackFlow flow, Origin origin, Instruction call)
    {
        foreach (var ins in caller.Body.Instructions)
        {
            if (ins == call) continue;
            var code = ins.OpCode.Code;
            if (code is Code.Stsfld && flow.Operand(ins, 0).Contains(origin)) return ins;
            if (code is Code.Stfld && flow.Operand(ins, 1).Contains(origin)) return ins;
            if (code is Code.Stelem_Ref or Code.Stelem_Any && flow.Operand(ins, 2).Contains(origin)) return ins;
            if (code is Code.Call or Code.Callvirt or Code.Newobj)
            {
                var callee = (MethodReference)ins.Operand;
                var pops = StackFlow.Pops(ins, caller);
                var first = callee.HasThis && code != Code.Newobj ? 1 : 0;
                for (var n = first; n < pops; n++)
                    if (flow.Operand(ins, n).Contains(origin) && !MemberRules.IsEnumeratorPlumbing(callee)) return ins;
            }
        }
        return null;
    }

    /// <summary>Instructions that may run after <paramref name="call"/> returns, up to the caller's exit (loops included).</summary>
    public static IEnumerable<Instruction> After(MethodDefinition caller, Instruction call)
    {
        var seen = new HashSet<Instruction>();
        var work = new Stack<Instruction>();
        foreach (var next in Successors(caller, call)) work.Push(next);
        while (work.Count > 0)
        {
            var ins = work.Pop();
            if (!seen.Add(ins)) continue;
            yield return ins;
            foreach (var next in Successors(caller, ins)) work.Push(next);
        }
    }

    // A path search: is there a path from the call to a use, not passing a store that kills the value?
    static Instruction? ReadLater(MethodDefinition caller, Instruction call, Func<Instruction, bool> use, Func<Instruction, bool> kill)
    {
        var seen = new HashSet<Instruction>();
        var work = new Stack<Instruction>();
        foreach (var next in Successors(caller, call)) work.Push(next);
        while (work.Count > 0)
        {
            var ins = work.Pop();
            if (!seen.Add(ins)) continue;
            if (use(ins)) return ins;
            if (kill(ins)) continue;
            foreach (var next in Successors(caller, ins)) work.Push(next);
        }
        return null;
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
