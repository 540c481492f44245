using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Arguments of one method that are always the object of one static field (ModuleFacts.Binding): by IL argument index,
/// and, in an async method's body, by the name of the state machine's field that copies them.
/// </summary>
public sealed class ArgumentBinding
{
    public Dictionary<int, FieldReference> Arguments { get; } = new();
    public Dictionary<string, FieldReference> Copies { get; } = new(StringComparer.Ordinal);
}

/// <summary>Where a value on the evaluation stack may have come from.</summary>
public enum OriginKind { Other, Local, LocalAddress, Argument, ArgumentAddress, Static, StaticAddress, Fresh, CallResult }

public readonly struct Origin : IEquatable<Origin>
{
    public Origin(OriginKind kind, int index = -1, object? item = null) { Kind = kind; Index = index; Item = item; }
    public OriginKind Kind { get; }
    /// <summary>Local or argument index.</summary>
    public int Index { get; }
    /// <summary>The field (Static*), or the instruction (Fresh, CallResult).</summary>
    public object? Item { get; }
    public FieldReference? Field => Item as FieldReference;
    public bool Equals(Origin other) => Kind == other.Kind && Index == other.Index && ReferenceEquals(Item, other.Item);
    public override bool Equals(object? obj) => obj is Origin o && Equals(o);
    public override int GetHashCode() => ((int)Kind * 397) ^ Index ^ (Item?.GetHashCode() ?? 0);
    public override string ToString() => $"{Kind}{(Index >= 0 ? Index.ToString() : "")}{(Item is null ? "" : ":" + Item)}";
    public static readonly Origin Unknown = new(OriginKind.Other);
}

/// <summary>
/// An abstract interpretation of one method body: for every instruction, the possible origins of each stack slot and
/// each local before it runs. Answers "which value does this call receive", "is this result discarded", "does this
/// object come from a static field" without ever editing IL.
/// </summary>
public sealed class StackFlow
{
    const int MaxOrigins = 12;
    public sealed class State
    {
        public HashSet<Origin>[] Stack = [];
        public HashSet<Origin>[] Locals = [];
        public State Clone() => new()
        {
            Stack = Stack.Select(s => new HashSet<Origin>(s)).ToArray(),
            Locals = Locals.Select(s => new HashSet<Origin>(s)).ToArray(),
        };
    }

    readonly Dictionary<Instruction, State> before = new();
    readonly Func<MethodReference, IEnumerable<FieldReference>>? returnedStatics;

    public MethodDefinition Method { get; }

    /// <param name="binding">Arguments bound to the object of a static field (ModuleFacts.Binding): <c>this</c> of a bound
    /// method, or a parameter every call passes that object to; in an async method's body, the state machine's copies.</param>
    public StackFlow(MethodDefinition method, Func<MethodReference, IEnumerable<FieldReference>>? returnedStatics = null,
        ArgumentBinding? binding = null)
    {
        Method = method;
        this.returnedStatics = returnedStatics;
        this.binding = binding;
        stateMachine = IsAsyncBody(method);
        if (!method.HasBody) return;
        // The locals an async method keeps across its awaits are fields of its state machine, and a resumed MoveNext
        // reaches them from its start: what they may hold is gathered over the whole body, until it stops growing.
        for (var round = 0; round < 8; round++)
        {
            hoistedGrew = false;
            before.Clear();
            Run();
            if (!hoistedGrew) break;
        }
    }

    readonly bool stateMachine;
    readonly ArgumentBinding? binding;
    readonly Dictionary<FieldDefinition, HashSet<Origin>> hoisted = new();
    bool hoistedGrew;

    /// <summary>The MoveNext of an async method's state machine: the method's body, as the compiler moved it.</summary>
    public static bool IsAsyncBody(MethodDefinition method) =>
        method.Name == "MoveNext" && method.HasThis
        && method.DeclaringType.Interfaces.Any(i => i.InterfaceType.FullName == "System.Runtime.CompilerServices.IAsyncStateMachine");

    /// <summary>A store into one of the state machine's own fields: one of the async method's locals, not shared memory.</summary>
    public bool StoresLocalOfStateMachine(Instruction ins) =>
        stateMachine && ins.OpCode.Code == Code.Stfld && HoistedField(ins, Operand(ins, 0)) is not null;

    FieldDefinition? HoistedField(Instruction ins, IEnumerable<Origin> target) =>
        stateMachine && ins.Operand is FieldReference f && f.Resolve() is { } field && field.DeclaringType == Method.DeclaringType
        && target.Any(o => o.Kind is OriginKind.Argument or OriginKind.ArgumentAddress && o.Index == 0) ? field : null;

    HashSet<FieldDefinition>? setInBody;

    bool SetInBody(FieldDefinition field)
    {
        setInBody ??= new HashSet<FieldDefinition>(Method.Body.Instructions
            .Where(i => i.OpCode.Code is Code.Stfld or Code.Ldflda && i.Operand is FieldReference f && f.DeclaringType.Resolve() == Method.DeclaringType)
            .Select(i => ((FieldReference)i.Operand).Resolve()));
        return setInBody.Contains(field);
    }

    HashSet<Origin> Hoisted(FieldDefinition field) =>
        hoisted.TryGetValue(field, out var set) ? set : hoisted[field] = [];

    /// <summary>The state before <paramref name="instruction"/> runs, or null when it is unreachable.</summary>
    public State? Before(Instruction instruction) => before.TryGetValue(instruction, out var s) ? s : null;

    /// <summary>Origins of the n-th value popped by <paramref name="instruction"/> (0 = the deepest, e.g. the receiver of a call).</summary>
    public IReadOnlyCollection<Origin> Operand(Instruction instruction, int n)
    {
        var state = Before(instruction);
        if (state is null) return [];
        var pops = Pops(instruction, Method);
        if (pops < 0 || pops > state.Stack.Length) return [Origin.Unknown];
        var index = state.Stack.Length - pops + n;
        return index >= 0 && index < state.Stack.Length ? state.Stack[index] : [Origin.Unknown];
    }

    void Run()
    {
        var body = Method.Body;
        var localCount = body.Variables.Count;
        var work = new Queue<Instruction>();
        void Seed(Instruction at, int stackDepth)
        {
            var s = new State
            {
                Stack = Enumerable.Range(0, stackDepth).Select(_ => new HashSet<Origin> { Origin.Unknown }).ToArray(),
                Locals = Enumerable.Range(0, localCount).Select(_ => new HashSet<Origin>()).ToArray(),
            };
            if (Merge(at, s)) work.Enqueue(at);
        }
        if (body.Instructions.Count == 0) return;
        Seed(body.Instructions[0], 0);
        foreach (var handler in body.ExceptionHandlers)
        {
            var depth = handler.HandlerType is ExceptionHandlerType.Catch or ExceptionHandlerType.Filter ? 1 : 0;
            Seed(handler.HandlerStart, depth);
            if (handler.FilterStart is not null) Seed(handler.FilterStart, 1);
        }

        var guard = 0;
        while (work.Count > 0 && guard++ < 200_000)
        {
            var ins = work.Dequeue();
            var state = before[ins].Clone();
            Step(ins, state);
            foreach (var next in Successors(ins))
                if (Merge(next, state)) work.Enqueue(next);
        }
    }

    bool Merge(Instruction at, State incoming)
    {
        if (!before.TryGetValue(at, out var existing))
        {
            before[at] = incoming.Clone();
            return true;
        }
        var changed = false;
        if (existing.Stack.Length != incoming.Stack.Length)
        {
            // Inconsistent stack heights do not occur in valid IL; keep the first and make it unknown.
            foreach (var slot in existing.Stack) changed |= slot.Add(Origin.Unknown);
            return changed;
        }
        for (var i = 0; i < existing.Stack.Length; i++) changed |= Union(existing.Stack[i], incoming.Stack[i]);
        for (var i = 0; i < existing.Locals.Length; i++) changed |= Union(existing.Locals[i], incoming.Locals[i]);
        return changed;
    }

    static bool Union(HashSet<Origin> into, HashSet<Origin> from)
    {
        var changed = false;
        foreach (var o in from)
        {
            if (into.Count >= MaxOrigins)
            {
                changed |= into.Add(Origin.Unknown);
                break;
            }
            changed |= into.Add(o);
        }
        return changed;
    }

    public static IEnumerable<Instruction> Successors(Instruction ins)
    {
        var op = ins.OpCode;
        switch (op.FlowControl)
        {
            case FlowControl.Branch:
                if (ins.Operand is Instruction t) yield return t;
                yield break;
            case FlowControl.Cond_Branch:
                if (ins.Operand is Instruction c) yield return c;
                else if (ins.Operand is Instruction[] targets) foreach (var x in targets) yield return x;
                if (ins.Next is not null) yield return ins.Next;
                yield break;
            case FlowControl.Return:
            case FlowControl.Throw:
                yield break;
            default:
                if (op.Code is Code.Endfinally or Code.Endfilter) yield break;
                if (ins.Next is not null) yield return ins.Next;
                yield break;
        }
    }

    void Step(Instruction ins, State s)
    {
        var stack = new List<HashSet<Origin>>(s.Stack);
        HashSet<Origin> Pop()
        {
            if (stack.Count == 0) return [Origin.Unknown];
            var top = stack[stack.Count - 1];
            stack.RemoveAt(stack.Count - 1);
            return top;
        }
        void Push(params Origin[] origins) => stack.Add(new HashSet<Origin>(origins));

        var code = ins.OpCode.Code;
        switch (code)
        {
            case Code.Ldloc_0: case Code.Ldloc_1: case Code.Ldloc_2: case Code.Ldloc_3: case Code.Ldloc_S: case Code.Ldloc:
            {
                var index = LocalIndex(ins);
                var set = new HashSet<Origin> { new(OriginKind.Local, index) };
                if (index >= 0 && index < s.Locals.Length) set.UnionWith(s.Locals[index]);
                stack.Add(set);
                break;
            }
            case Code.Stloc_0: case Code.Stloc_1: case Code.Stloc_2: case Code.Stloc_3: case Code.Stloc_S: case Code.Stloc:
            {
                var index = LocalIndex(ins);
                var value = Pop();
                if (index >= 0 && index < s.Locals.Length)
                    s.Locals[index] = new HashSet<Origin>(value.Where(o => !(o.Kind == OriginKind.Local && o.Index == index)));
                break;
            }
            case Code.Ldloca: case Code.Ldloca_S:
                Push(new Origin(OriginKind.LocalAddress, LocalIndex(ins)));
                break;
            case Code.Ldarg_0: case Code.Ldarg_1: case Code.Ldarg_2: case Code.Ldarg_3: case Code.Ldarg_S: case Code.Ldarg:
            {
                var index = ArgumentIndex(ins);
                // A bound argument ("this" of a bound method, a parameter always given one object) is that object.
                if (!stateMachine && binding is not null && binding.Arguments.TryGetValue(index, out var bound))
                    Push(new Origin(OriginKind.Argument, index), new Origin(OriginKind.Static, -1, bound));
                else
                    Push(new Origin(OriginKind.Argument, index));
                break;
            }
            case Code.Ldarga: case Code.Ldarga_S:
                Push(new Origin(OriginKind.ArgumentAddress, ArgumentIndex(ins)));
                break;
            case Code.Ldsfld:
                Push(new Origin(OriginKind.Static, -1, ins.Operand));
                break;
            case Code.Ldsflda:
                Push(new Origin(OriginKind.StaticAddress, -1, ins.Operand));
                break;
            case Code.Dup:
            {
                var top = Pop();
                stack.Add(top);
                stack.Add(new HashSet<Origin>(top));
                break;
            }
            case Code.Newobj: case Code.Newarr:
            {
                var pops = Pops(ins, Method);
                for (var i = 0; i < pops; i++) Pop();
                Push(new Origin(OriginKind.Fresh, -1, ins));
                break;
            }
            case Code.Call: case Code.Callvirt:
            {
                var method = (MethodReference)ins.Operand;
                var pops = Pops(ins, Method);
                var operands = new List<HashSet<Origin>>();
                for (var i = 0; i < pops; i++) operands.Add(Pop());
                operands.Reverse();
                var receiver = method.HasThis ? 1 : 0;
                // Operands that may hold objects (not a string the result was computed from); a struct called through its
                // local's address (a List enumerator) reaches what the local holds.
                var holders = operands.Where((_, n) => n - receiver >= method.Parameters.Count || CanReachObjects(n < receiver ? method.DeclaringType : method.Parameters[n - receiver].ParameterType)).ToList();
                var reached = holders.SelectMany(StaticsIn)
                    .Concat(holders.SelectMany(o => o).Where(o => o.Kind == OriginKind.LocalAddress && o.Index >= 0 && o.Index < s.Locals.Length)
                        .SelectMany(o => StaticsIn(s.Locals[o.Index])))
                    .Distinct().ToList();
                // What a call is given from a static field's object may come back out of it: an element (an indexer,
                // First, an enumerator's Current), or through an out parameter (TryGetValue).
                if (reached.Count > 0)
                    foreach (var address in operands.SelectMany(o => o))
                    {
                        if (address.Kind == OriginKind.LocalAddress && address.Index >= 0 && address.Index < s.Locals.Length)
                            s.Locals[address.Index].UnionWith(reached);
                        else if (address is { Kind: OriginKind.ArgumentAddress, Item: FieldDefinition local })
                        {
                            var set = Hoisted(local);
                            var count = set.Count;
                            set.UnionWith(reached.Where(o => o.Kind == OriginKind.Static));
                            hoistedGrew |= set.Count != count;
                        }
                    }
                if (method.ReturnType.MetadataType != MetadataType.Void)
                {
                    var set = new HashSet<Origin> { new(OriginKind.CallResult, -1, ins) };
                    if (returnedStatics is not null)
                        foreach (var f in returnedStatics(method)) set.Add(new Origin(OriginKind.Static, -1, f));
                    if (CanReachObjects(method.ReturnType) && !MakesACopy(method) && !IsTaskLike(method.ReturnType)) set.UnionWith(reached);
                    stack.Add(set);
                }
                break;
            }
            case Code.Ldfld: case Code.Ldflda:
            {
                // A field of an object a static field refers to: changing what it refers to changes that static's state.
                var field = (FieldReference)ins.Operand;
                var target = Pop();
                if (HoistedField(ins, target) is { } local)
                {
                    // A local of the async method: whatever it may hold, never the caller's own value (unknown).
                    var held = new HashSet<Origin>(Hoisted(local));
                    // A copy of the async method's parameter (or "this") that the body never sets: that argument, named
                    // by its field so that a binding can be found. Anything else the body keeps: whatever it may hold.
                    var copy = code == Code.Ldfld && (!local.Name.StartsWith("<", StringComparison.Ordinal) || local.Name == "<>4__this")
                               && !SetInBody(local);
                    held.Add(code == Code.Ldflda ? new Origin(OriginKind.ArgumentAddress, 0, local) : copy ? new Origin(OriginKind.Other, -1, local) : Origin.Unknown);
                    if (binding is not null && binding.Copies.TryGetValue(local.Name, out var bound)) held.Add(new Origin(OriginKind.Static, -1, bound));
                    stack.Add(held);
                    break;
                }
                var set = new HashSet<Origin> { Origin.Unknown };
                if (code == Code.Ldflda || CanReachObjects(field.FieldType)) set.UnionWith(StaticsIn(target));
                stack.Add(set);
                break;
            }
            case Code.Stfld:
            {
                var value = Pop();
                var target = Pop();
                if (HoistedField(ins, target) is { } local)
                {
                    var set = Hoisted(local);
                    var count = set.Count;
                    set.UnionWith(StaticsIn(value).Where(o => o.Kind == OriginKind.Static));
                    hoistedGrew |= set.Count != count;
                }
                break;
            }
            case Code.Ldelem_Ref: case Code.Ldelem_Any: case Code.Ldelema:
            {
                Pop();
                var array = Pop();
                var set = new HashSet<Origin> { Origin.Unknown };
                if (code != Code.Ldelem_Any || CanReachObjects((TypeReference)ins.Operand)) set.UnionWith(StaticsIn(array));
                stack.Add(set);
                break;
            }
            case Code.Castclass: case Code.Isinst: case Code.Unbox_Any: case Code.Box:
                // the same object, seen through another type
                stack.Add(Pop());
                break;
            case Code.Leave: case Code.Leave_S: case Code.Endfinally:
                stack.Clear();
                break;
            default:
            {
                var pops = Pops(ins, Method);
                if (pops < 0) { stack.Clear(); break; }
                for (var i = 0; i < pops; i++) Pop();
                for (var i = 0; i < Pushes(ins); i++) Push(Origin.Unknown);
                break;
            }
        }
        s.Stack = stack.ToArray();
    }

    // The static fields and arguments whose objects a value may be, or be part of: what changing it changes.
    static IEnumerable<Origin> StaticsIn(HashSet<Origin> value) =>
        value.Where(o => o.Kind is OriginKind.Static or OriginKind.StaticAddress or OriginKind.Argument or OriginKind.ArgumentAddress)
            .Select(o => o.Kind is OriginKind.Static or OriginKind.StaticAddress ? new Origin(OriginKind.Static, -1, o.Item) : new Origin(OriginKind.Argument, o.Index));

    // A value of this type may refer to an object (primitives, enums and strings do not, or cannot be changed).
    static bool CanReachObjects(TypeReference type) =>
        !(type.IsPrimitive || type.IsPointer || type.MetadataType is MetadataType.String or MetadataType.Void
          || type.Resolve() is { IsEnum: true });

    // A task, or its awaiter, gives back only its result: not the objects its method was given.
    static bool IsTaskLike(TypeReference type) =>
        type.Namespace is "System.Threading.Tasks" or "System.Runtime.CompilerServices"
        && (type.Name.StartsWith("Task", StringComparison.Ordinal) || type.Name.StartsWith("ValueTask", StringComparison.Ordinal)
            || type.Name.Contains("Awaiter") || type.Name.Contains("Awaitable"));

    // LINQ's To* methods return a new collection: what is in it is still reachable, the collection itself is not.
    static bool MakesACopy(MethodReference method) =>
        method.DeclaringType.FullName == "System.Linq.Enumerable" && method.Name.StartsWith("To", StringComparison.Ordinal);

    public static int LocalIndex(Instruction ins) => ins.OpCode.Code switch
    {
        Code.Ldloc_0 or Code.Stloc_0 => 0,
        Code.Ldloc_1 or Code.Stloc_1 => 1,
        Code.Ldloc_2 or Code.Stloc_2 => 2,
        Code.Ldloc_3 or Code.Stloc_3 => 3,
        _ => ins.Operand is VariableDefinition v ? v.Index : -1,
    };

    public static int ArgumentIndex(Instruction ins) => ins.OpCode.Code switch
    {
        Code.Ldarg_0 => 0,
        Code.Ldarg_1 => 1,
        Code.Ldarg_2 => 2,
        Code.Ldarg_3 => 3,
        // The parameter's index in the IL argument list: shifted by one for instance methods.
        _ => ins.Operand is ParameterDefinition p ? p.Index + (p.Method is MethodReference m && m.HasThis ? 1 : 0) : -1,
    };

    /// <summary>How many values the instruction pops; -1 when it empties the stack.</summary>
    public static int Pops(Instruction ins, MethodDefinition inMethod)
    {
        var op = ins.OpCode;
        if (op.FlowControl == FlowControl.Call || op.Code == Code.Newobj)
        {
            if (op.Code == Code.Calli)
            {
                var site = (CallSite)ins.Operand;
                return site.Parameters.Count + (site.HasThis && !site.ExplicitThis ? 1 : 0) + 1;
            }
            var method = (IMethodSignature)ins.Operand;
            var count = method.Parameters.Count;
            if (op.Code != Code.Newobj && method.HasThis && !method.ExplicitThis) count++;
            return count;
        }
        if (op.Code == Code.Ret) return inMethod.ReturnType.MetadataType == MetadataType.Void ? 0 : 1;
        return op.StackBehaviourPop switch
        {
            StackBehaviour.Pop0 => 0,
            StackBehaviour.Pop1 or StackBehaviour.Popi or StackBehaviour.Popref => 1,
            StackBehaviour.Pop1_pop1 or StackBehaviour.Popi_pop1 or StackBehaviour.Popi_popi or StackBehaviour.Popi_popi8
                or StackBehaviour.Popi_popr4 or StackBehaviour.Popi_popr8 or StackBehaviour.Popref_pop1 or StackBehaviour.Popref_popi => 2,
            StackBehaviour.Popi_popi_popi or StackBehaviour.Popref_popi_popi or StackBehaviour.Popref_popi_popi8
                or StackBehaviour.Popref_popi_popr4 or StackBehaviour.Popref_popi_popr8 or StackBehaviour.Popref_popi_popref => 3,
            StackBehaviour.PopAll => -1,
            _ => 0,
        };
    }

    public static int Pushes(Instruction ins)
    {
        var op = ins.OpCode;
        if (op.Code == Code.Newobj) return 1; // its constructor returns void, and it pushes the object
        if (op.FlowControl == FlowControl.Call)
        {
            var sig = ins.Operand as IMethodSignature;
            return sig is null || sig.ReturnType.MetadataType == MetadataType.Void ? 0 : 1;
        }
        return op.StackBehaviourPush switch
        {
            StackBehaviour.Push0 => 0,
            StackBehaviour.Push1_push1 => 2,
            _ => 1,
        };
    }
}
