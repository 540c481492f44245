using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Weaving.Fody.Analysis;

/// <summary>One subscriber of an event: the method, and the static field whose object it runs on (null: a static method).</summary>
public sealed class Subscriber(MethodDefinition method, FieldDefinition? target)
{
    public MethodDefinition Method { get; } = method;
    public FieldDefinition? Target { get; } = target;
}

/// <summary>
/// An event (or delegate field) whose subscribers are known at weave time (docs/design.md §1.3): raising it is a call
/// to each subscriber, in subscription order, which the analysis then treats as it treats any call.
/// </summary>
public sealed class ResolvedEvent(FieldDefinition field, MethodDefinition invoke, IReadOnlyList<Subscriber> subscribers,
    IReadOnlyList<MethodDefinition> accessors)
{
    /// <summary>The event's add and remove accessors: what they do to the field no raise reads any more.</summary>
    public IReadOnlyList<MethodDefinition> Accessors { get; } = accessors;
    /// <summary>The delegate field behind the event.</summary>
    public FieldDefinition Field { get; } = field;
    /// <summary>The delegate type's Invoke.</summary>
    public MethodDefinition Invoke { get; } = invoke;
    public IReadOnlyList<Subscriber> Subscribers { get; } = subscribers;
    /// <summary>Each raise: the Invoke call, in its method.</summary>
    public List<(MethodDefinition Method, Instruction Invoke)> Raises { get; } = [];
    /// <summary>Each load of the field at a raise (the value only feeds null checks and the Invoke).</summary>
    public List<(MethodDefinition Method, Instruction Load)> Loads { get; } = [];
    /// <summary>The delegate creations of the subscriptions: they take a method only to subscribe it.</summary>
    public List<Instruction> SubscriptionTakes { get; } = [];
}

/// <summary>
/// Finds the events whose raises can be read as direct calls. An event qualifies when every subscription is made by
/// the source, once, on every run, before anything that may raise it, with a static method, a method of an object a
/// static field holds, or a lambda that only forwards to one; nothing unsubscribes; and the field is read only to be
/// raised. Anything else is left as it is, with the reason (typed) for the diagnostic.
/// </summary>
public sealed class EventSubscriptions(ModuleFacts facts, Closure closure, MethodDefinition? source)
{
    public List<ResolvedEvent> Resolved { get; } = [];

    /// <summary>Events a handler subscribes to that could not be resolved: the field, where, and why.</summary>
    public List<(FieldDefinition Field, MethodDefinition Method, Instruction At, string Why)> Unresolved { get; } = [];

    public EventSubscriptions Find()
    {
        foreach (var type in facts.Module.GetTypes())
            foreach (var ev in type.Events)
            {
                if (ev.AddMethod is not { HasBody: true } add || ev.RemoveMethod is not { } remove) continue;
                var field = type.Fields.FirstOrDefault(f => f.Name == ev.Name && IsDelegate(f.FieldType));
                if (field is null) continue;
                var why = Resolve(field, add, remove, out var resolved);
                if (resolved is not null) Resolved.Add(resolved);
                else if (why is not null && FirstSubscription(add) is { } at) Unresolved.Add((field, at.Method, at.At, why));
            }
        return this;
    }

    static bool IsDelegate(TypeReference type) => type.Resolve()?.BaseType?.FullName == "System.MulticastDelegate";

    (MethodDefinition Method, Instruction At)? FirstSubscription(MethodDefinition add) =>
        facts.AllMethods().Where(m => m.HasBody).SelectMany(m => m.Body.Instructions.Where(i => IsCallTo(i, add)).Select(i => (m, i)))
            .Select(p => ((MethodDefinition, Instruction)?)p).FirstOrDefault();

    static bool IsCallTo(Instruction ins, MethodDefinition method) =>
        ins.OpCode.Code is Code.Call or Code.Callvirt && ins.Operand is MethodReference m && m.Resolve() == method;

    string? Resolve(FieldDefinition field, MethodDefinition add, MethodDefinition remove, out ResolvedEvent? resolved)
    {
        resolved = null;
        if (source is null) return "the assembly has no entry point";
        var invoke = field.FieldType.Resolve()!.Methods.First(m => m.Name == "Invoke");
        if (invoke.ReturnType.MetadataType != MetadataType.Void) return "its delegate returns a value";
        var subscriptions = new List<(MethodDefinition Method, Instruction At)>();
        foreach (var method in facts.AllMethods().Where(m => m.HasBody))
            foreach (var ins in method.Body.Instructions)
            {
                if (IsCallTo(ins, remove)) return $"it is unsubscribed in {SourceLocator.Describe(method)}";
                if (IsCallTo(ins, add)) subscriptions.Add((method, ins));
            }
        if (subscriptions.Count == 0) return null;
        if (subscriptions.Any(s => s.Method != source)) return "it is subscribed to outside the entry point";

        // Who subscribes, on which object.
        var flow = facts.Get(source).Flow!;
        var subscribers = new List<Subscriber>();
        var takes = new List<Instruction>();
        foreach (var (_, at) in subscriptions.OrderBy(s => s.At.Offset))
        {
            if (!field.IsStatic && !OnBoundObject(flow.Operand(at, 0), field)) return "its object is not one a static field holds";
            var handler = flow.Operand(at, field.IsStatic ? 0 : 1);
            var made = handler.Where(o => o.Kind == OriginKind.Fresh).Select(o => (Instruction)o.Item!).ToList();
            // A cached delegate (a method group or a lambda, kept in a compiler-generated field) is made at one place.
            if (made.Count != 1 || handler.Any(o => o.Kind is not (OriginKind.Fresh or OriginKind.Static)
                                                    || o.Kind == OriginKind.Static && !IsCompilerCache(o.Field)))
                return "a subscription's delegate is not made where it subscribes";
            if (Subscriber(flow, made[0]) is not { } subscriber) return "a subscriber is neither a static method, nor a method of an object a static field holds, nor a lambda that only calls one";
            subscribers.Add(subscriber);
            takes.Add(made[0].Previous);
        }

        // Every subscription runs once, on every run, before anything that may raise the event.
        var raisers = new HashSet<MethodDefinition>();
        var loads = new List<(MethodDefinition, Instruction)>();
        var raises = new List<(MethodDefinition, Instruction)>();
        foreach (var method in facts.AllMethods().Where(m => m.HasBody && m != add && m != remove))
            foreach (var ins in method.Body.Instructions)
            {
                if (ins.OpCode.Code is not (Code.Ldfld or Code.Ldsfld or Code.Ldflda or Code.Ldsflda or Code.Stfld or Code.Stsfld)) continue;
                if ((ins.Operand as FieldReference)?.Resolve() != field) continue;
                if (ins.OpCode.Code is not (Code.Ldfld or Code.Ldsfld)) return $"{SourceLocator.Describe(method)} changes the field";
                var invokes = RaisesOf(method, ins, invoke);
                if (invokes is null) return $"{SourceLocator.Describe(method)} uses it other than to raise it";
                loads.Add((method, ins));
                raises.AddRange(invokes.Select(i => (method, i)));
                raisers.Add(method);
            }
        foreach (var (_, at) in subscriptions)
        {
            var before = ContinuationRules.Before(source, at);
            if (ContinuationRules.After(source, at).Contains(at)) return "it is subscribed to in a loop";
            if (ContinuationRules.Avoidable(source, at)) return "a subscription does not run on every path";
            foreach (var ins in before)
            {
                if (raisers.Contains(source) && loads.Any(l => l.Item2 == ins)) return "it is raised before it is subscribed to";
                if (ins.OpCode.Code is Code.Call or Code.Callvirt or Code.Newobj && facts.Own(ins.Operand as MethodReference) is { HasBody: true } callee
                    && !IsCallTo(ins, add) && closure.OfEveryCall(callee).Overlaps(raisers))
                    return "something that may raise it runs before it is subscribed to";
            }
        }
        resolved = new ResolvedEvent(field, invoke, subscribers, [add, remove]);
        resolved.Raises.AddRange(raises);
        resolved.Loads.AddRange(loads);
        resolved.SubscriptionTakes.AddRange(takes);
        return null;
    }

    bool OnBoundObject(IReadOnlyCollection<Origin> receiver, FieldDefinition field) =>
        receiver.Count > 0 && receiver.All(o => o.Kind == OriginKind.Static) && receiver.Select(o => facts.Own(o.Field)).Distinct().Count() == 1
        && facts.Own(receiver.First().Field) is { } holder && facts.AllMethods().Any(m => facts.BoundField(m) == holder && m.DeclaringType == field.DeclaringType);

    static bool IsCompilerCache(FieldReference? field) =>
        field?.Resolve() is { } f && (f.DeclaringType.Name.StartsWith("<", StringComparison.Ordinal) || f.Name.StartsWith("<", StringComparison.Ordinal));

    // newobj D::.ctor(target, ldftn M): M with its target. A lambda that only passes its parameters on to one static
    // method or one method of a bound object is that method.
    Subscriber? Subscriber(StackFlow flow, Instruction newobj)
    {
        if (newobj.Previous is not { OpCode.Code: Code.Ldftn } take || facts.Own(take.Operand as MethodReference) is not { HasBody: true } method) return null;
        if (method.IsStatic) return new Subscriber(method, null);
        var target = flow.Operand(newobj, 0);
        if (target.Count == 1 && target.First() is { Kind: OriginKind.Static } t && facts.Own(t.Field) is { } holder)
        {
            if (IsCompilerCache(holder) && Forwarded(method) is { } forwarded) return forwarded;
            // Its calls from the raises will be made on that object: it is bound to it once the raises are direct calls.
            if (facts.HoldsOneObject(holder) && !method.DeclaringType.IsValueType && !(method.IsVirtual && !method.IsFinal) || IsCompilerCache(holder))
                return new Subscriber(method, holder);
        }
        return null;
    }

    // The lambda's body: its parameters, in order, to one call, then return.
    Subscriber? Forwarded(MethodDefinition lambda)
    {
        var body = lambda.Body.Instructions.Where(i => i.OpCode.Code != Code.Nop).ToList();
        var count = lambda.Parameters.Count;
        if (body.Count != count + 2 || body[body.Count - 1].OpCode.Code != Code.Ret) return null;
        for (var i = 0; i < count; i++)
            if (!(body[i].OpCode.Code is Code.Ldarg_1 or Code.Ldarg_2 or Code.Ldarg_3 or Code.Ldarg_S or Code.Ldarg) || StackFlow.ArgumentIndex(body[i]) != i + 1)
                return null;
        if (body[count].OpCode.Code != Code.Call || facts.Own(body[count].Operand as MethodReference) is not { IsStatic: true, HasBody: true } callee
            || callee.Parameters.Count != count) return null;
        return new Subscriber(callee, null);
    }

    // The Invoke calls a load of the field feeds; null when its value is used for anything but a null check and Invoke.
    static List<Instruction>? RaisesOf(MethodDefinition method, Instruction load, MethodDefinition invoke)
    {
        var raises = new List<Instruction>();
        // Follow the value on the stack: dup, null checks and the Invoke itself, through locals it is copied into.
        var locals = new HashSet<int>();
        var work = new Queue<(Instruction At, int Depth)>();
        work.Enqueue((load.Next, 0));
        var seen = new HashSet<(Instruction, int)>();
        while (work.Count > 0)
        {
            var (at, depth) = work.Dequeue();
            if (at is null || !seen.Add((at, depth))) continue;
            var code = at.OpCode.Code;
            var pops = StackFlow.Pops(at, method);
            // The value is at `depth` below the top of the stack before `at`.
            if (pops < 0) return null;
            if (depth >= pops)
            {
                var next = depth - pops + StackFlow.Pushes(at);
                foreach (var s in StackFlow.Successors(at)) work.Enqueue((s, next));
                if (at.OpCode.FlowControl is FlowControl.Return or FlowControl.Throw) return null;
                continue;
            }
            switch (code)
            {
                case Code.Dup:
                    foreach (var s in StackFlow.Successors(at)) { work.Enqueue((s, 0)); work.Enqueue((s, 1)); }
                    break;
                case Code.Brtrue: case Code.Brtrue_S: case Code.Brfalse: case Code.Brfalse_S: case Code.Pop:
                    break;
                case Code.Stloc: case Code.Stloc_S: case Code.Stloc_0: case Code.Stloc_1: case Code.Stloc_2: case Code.Stloc_3:
                    locals.Add(StackFlow.LocalIndex(at));
                    break;
                case Code.Callvirt when at.Operand is MethodReference m && m.Resolve() == invoke && depth == pops - 1:
                    raises.Add(at);
                    break;
                default:
                    return null;
            }
        }
        // A local the value was copied into: each load of it must be used the same way.
        foreach (var index in locals)
        {
            foreach (var ins in method.Body.Instructions)
            {
                if (ins.OpCode.Code is Code.Ldloca or Code.Ldloca_S && StackFlow.LocalIndex(ins) == index) return null;
                if (!(ins.OpCode.Code is Code.Ldloc or Code.Ldloc_S or Code.Ldloc_0 or Code.Ldloc_1 or Code.Ldloc_2 or Code.Ldloc_3)
                    || StackFlow.LocalIndex(ins) != index) continue;
                var more = RaisesOfLocal(method, ins, invoke);
                if (more is null) return null;
                raises.AddRange(more);
            }
        }
        return raises.Distinct().ToList();
    }

    static List<Instruction>? RaisesOfLocal(MethodDefinition method, Instruction load, MethodDefinition invoke)
    {
        var next = load.Next;
        if (next is null) return null;
        if (next.OpCode.Code is Code.Brtrue or Code.Brtrue_S or Code.Brfalse or Code.Brfalse_S) return [];
        // ldloc h; <arguments>; callvirt Invoke: the arguments are computed after the delegate is loaded.
        var depth = 0;
        for (var at = next; at is not null; at = at.Next)
        {
            var pops = StackFlow.Pops(at, method);
            if (pops < 0 || at.OpCode.FlowControl is not (FlowControl.Next or FlowControl.Call)) return null;
            if (depth < pops)
                return at.OpCode.Code == Code.Callvirt && at.Operand is MethodReference m && m.Resolve() == invoke && depth == pops - 1 ? [at] : null;
            depth = depth - pops + StackFlow.Pushes(at);
        }
        return null;
    }
}
