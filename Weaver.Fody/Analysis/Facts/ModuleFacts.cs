using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Weaving.Fody.Analysis;

/// <summary>One read or write of a static field, at an instruction. "Write" includes changing the object it refers to.</summary>
public sealed class FieldAccess(FieldDefinition field, MethodDefinition method, Instruction at, bool write)
{
    public FieldDefinition Field { get; } = field;
    public MethodDefinition Method { get; } = method;
    public Instruction At { get; } = at;
    public bool Write { get; } = write;
}

/// <summary>What one method does directly: static fields it touches, methods of this module it calls, outside statics it calls.</summary>
public sealed class MethodFacts(MethodDefinition method)
{
    public MethodDefinition Method { get; } = method;
    public List<FieldAccess> Accesses { get; } = [];
    /// <summary>Calls (and delegate creations) to methods of this module, with the instruction.</summary>
    public List<(Instruction At, MethodDefinition Callee)> Calls { get; } = [];
    public SortedSet<string> ExternalCalls { get; } = new(StringComparer.Ordinal);
    public StackFlow? Flow { get; set; }
    /// <summary>The method writes to the console (the console is one resource whose order is visible).</summary>
    public bool UsesConsole => ExternalCalls.Any(MemberRules.IsConsole);
}

/// <summary>Direct facts for every method of the module, computed once and kept.</summary>
public sealed class ModuleFacts
{
    readonly ModuleDefinition module;
    readonly Dictionary<MethodDefinition, MethodFacts> facts = new();
    readonly Dictionary<MethodDefinition, HashSet<FieldDefinition>> returnedStatics = new();
    readonly Dictionary<(MethodDefinition, int), bool> mutatesParameter = new();
    readonly Dictionary<(MethodDefinition, int), bool> retains = new();
    readonly Dictionary<string, List<MethodDefinition>> virtualsByName = new(StringComparer.Ordinal);

    readonly Dictionary<MethodDefinition, MethodDefinition> asyncBodies = new();
    readonly Dictionary<MethodDefinition, MethodDefinition> asyncMethods = new();

    readonly HashSet<FieldDefinition> raisedDirectly = new();
    readonly HashSet<Instruction> subscriptionTakes = new();
    readonly HashSet<FieldDefinition> sourceObjects;
    readonly HashSet<MethodDefinition> subscriptionAccessors = new();

    /// <param name="events">Events whose raises were rewritten into direct calls (EventRaises): their fields are no
    /// longer read, and the delegates their subscriptions make are never invoked.</param>
    /// <param name="sourceObjects">Fields the source's own objects were given (SourceObjectFields): each holds one object.</param>
    public ModuleFacts(ModuleDefinition module, IEnumerable<ResolvedEvent>? events = null, IEnumerable<FieldDefinition>? sourceObjects = null)
    {
        this.module = module;
        this.sourceObjects = new HashSet<FieldDefinition>(sourceObjects ?? []);
        foreach (var ev in events ?? [])
        {
            raisedDirectly.Add(ev.Field);
            subscriptionTakes.UnionWith(ev.SubscriptionTakes);
            subscriptionAccessors.UnionWith(ev.Accessors);
        }
        foreach (var method in AllMethods())
            if (StateMachineBody(method) is { } moveNext)
            {
                asyncBodies[method] = moveNext;
                asyncMethods[moveNext] = method;
            }
        Bind();
        foreach (var method in AllMethods())
        {
            if (method.IsVirtual)
            {
                if (!virtualsByName.TryGetValue(method.Name, out var list)) virtualsByName[method.Name] = list = [];
                list.Add(method);
            }
            if (method.HasBody && method.ReturnType.MetadataType != MetadataType.Void && !method.ReturnType.IsValueType)
            {
                var flow = new StackFlow(method, binding: Binding(method));
                var returned = new HashSet<FieldDefinition>();
                foreach (var ret in method.Body.Instructions.Where(i => i.OpCode.Code == Code.Ret))
                    foreach (var o in flow.Operand(ret, 0))
                        if (o.Kind == OriginKind.Static && Own(o.Field) is { } f) returned.Add(f);
                if (returned.Count > 0) returnedStatics[method] = returned;
            }
        }
    }

    public ModuleDefinition Module => module;

    readonly Dictionary<MethodDefinition, FieldDefinition> boundTo = new();
    HashSet<FieldDefinition> stable = new();

    /// <summary>A static field of a class type set only by its type's initializer: one object per process, made there.</summary>
    public bool HoldsOneObject(FieldDefinition field) => stable.Contains(field);
    readonly HashSet<FieldDefinition> bindingFields = new();

    /// <summary>
    /// The static field whose object every call of this instance method is made on (docs/design.md §1.3): the field is
    /// set only by its type's initializer, so there is one such object per process, made the same way in each. Its
    /// fields are then that static field's state, placed as any static's. Null for a static method, or when some call
    /// (or a delegate) may use another object.
    /// </summary>
    public FieldDefinition? BoundField(MethodDefinition method) => boundTo.TryGetValue(method, out var field) ? field : null;

    /// <summary>
    /// For a static field whose object instance handlers run on: that object's instance fields (its class's and its
    /// base classes' in this module), which are its state. Null for any other field, or when a base class is another
    /// assembly's (its fields are not known).
    /// </summary>
    public List<FieldDefinition>? ObjectState(FieldDefinition field)
    {
        if (!bindingFields.Contains(field)) return null;
        var fields = new List<FieldDefinition>();
        for (var type = field.FieldType.Resolve(); type is not null && type.FullName != "System.Object"; type = type.BaseType?.Resolve())
        {
            if (type.Module != module) return null;
            fields.AddRange(type.Fields.Where(f => !f.IsStatic && !f.IsLiteral && !raisedDirectly.Contains(f)));
        }
        return fields;
    }

    // Which object each argument slot gets: "this" of an instance method, or a parameter (by IL index). A slot is bound
    // to a static field set only by its type initializer (or a field the source gave its own object) when every call
    // passes that field's object, or the caller's own slot bound to it ("this.Check()", "Handle(detector)"). A greatest
    // fixed point: a method that only passes the object on to itself stays bound.
    void Bind()
    {
        stable = new HashSet<FieldDefinition>(module.GetTypes().SelectMany(t => t.Fields)
            .Where(f => f.IsStatic && !f.FieldType.IsValueType && !f.FieldType.IsGenericParameter && !f.DeclaringType.HasGenericParameters));
        var given = new Dictionary<(MethodDefinition, int), List<(FieldDefinition? Field, (MethodDefinition, int)? Slot)>>();
        var unbound = new HashSet<(MethodDefinition, int)>();
        foreach (var method in AllMethods().Where(m => m.HasBody))
        {
            StackFlow? flow = null;
            foreach (var ins in method.Body.Instructions)
            {
                var code = ins.OpCode.Code;
                if (code is Code.Stsfld or Code.Ldsflda && Own(ins.Operand as FieldReference) is { } set
                    && !(method.IsConstructor && method.IsStatic && method.DeclaringType == set.DeclaringType && code == Code.Stsfld))
                    stable.Remove(set);
                if (code is not (Code.Call or Code.Callvirt or Code.Ldftn or Code.Ldvirtftn) || subscriptionTakes.Contains(ins)) continue;
                if (Own(ins.Operand as MethodReference) is not { IsConstructor: false, HasBody: true } callee) continue;
                var slots = callee.Parameters.Count + (callee.HasThis ? 1 : 0);
                // A delegate, a virtual call, or a method of a struct or a generic type: what it runs on is not known here.
                if (code is Code.Ldftn or Code.Ldvirtftn || callee.DeclaringType.IsValueType || callee.DeclaringType.HasGenericParameters
                    || callee.HasGenericParameters || callee.IsVirtual && !callee.IsFinal)
                {
                    for (var a = 0; a < slots; a++) unbound.Add((callee, a));
                    continue;
                }
                flow ??= new StackFlow(method);
                for (var a = 0; a < slots; a++)
                {
                    var slotType = callee.HasThis && a == 0 ? callee.DeclaringType : callee.Parameters[a - (callee.HasThis ? 1 : 0)].ParameterType;
                    if (slotType.IsValueType || slotType.IsGenericParameter) continue;
                    if (!given.TryGetValue((callee, a), out var list)) given[(callee, a)] = list = [];
                    foreach (var origin in flow.Operand(ins, a))
                    {
                        if (origin.Kind == OriginKind.Static && Own(origin.Field) is { } field) list.Add((field, null));
                        else if (origin.Kind == OriginKind.Argument && !StackFlow.IsAsyncBody(method)) list.Add((null, (method, origin.Index)));
                        else if (origin is { Kind: OriginKind.Other, Item: FieldDefinition copy } && AsyncMethodOf(method) is { } written
                                 && CopiedSlot(written, copy) is { } slot)
                            list.Add((null, (written, slot)));
                        else list.Add((null, null));
                    }
                }
            }
        }
        // The source stores its own objects' fields once, before anything reads them.
        stable.UnionWith(sourceObjects);
        var bound = new Dictionary<(MethodDefinition, int), FieldDefinition?>();
        foreach (var entry in given)
        {
            if (unbound.Contains(entry.Key) || entry.Value.Any(r => r.Field is null && r.Slot is null)) continue;
            var fields = entry.Value.Where(r => r.Field is not null).Select(r => r.Field!).Distinct().ToList();
            if (fields.Count > 1 || fields.Any(f => !stable.Contains(f))) continue;
            bound[entry.Key] = fields.FirstOrDefault();
        }
        bool changed;
        do
        {
            changed = false;
            foreach (var slot in bound.Keys.ToList())
            {
                var field = bound[slot];
                foreach (var (_, from) in given[slot].Where(r => r.Slot is not null))
                {
                    if (!bound.TryGetValue(from!.Value, out var callerField)) { field = null; bound.Remove(slot); break; }
                    if (callerField is null || callerField == field) continue;
                    if (field is null) field = callerField;
                    else { bound.Remove(slot); field = null; break; }
                }
                if (!bound.ContainsKey(slot)) { changed = true; continue; }
                if (field != bound[slot]) { bound[slot] = field; changed = true; }
            }
        } while (changed);
        foreach (var entry in bound)
        {
            if (entry.Value is not { } field) continue;
            var (method, index) = entry.Key;
            if (!bindings.TryGetValue(method, out var binding)) bindings[method] = binding = new ArgumentBinding();
            binding.Arguments[index] = field;
            if (method.HasThis && index == 0) boundTo[method] = field;
            bindingFields.Add(field);
            // An async method's body reads its arguments from its state machine's copies of them.
            if (AsyncBody(method) is { } body)
            {
                if (!bindings.TryGetValue(body, out var copies)) bindings[body] = copies = new ArgumentBinding();
                var name = method.HasThis && index == 0 ? "<>4__this" : method.Parameters[index - (method.HasThis ? 1 : 0)].Name;
                copies.Copies[name] = field;
                if (method.HasThis && index == 0) boundTo[body] = field;
            }
        }
    }

    readonly Dictionary<MethodDefinition, ArgumentBinding> bindings = new();

    /// <summary>The arguments of a method that are always the object of one static field, or null.</summary>
    public ArgumentBinding? Binding(MethodDefinition method) => bindings.TryGetValue(method, out var binding) ? binding : null;

    /// <summary>The static field whose object every call passes as this parameter, or null.</summary>
    public FieldDefinition? BoundParameter(MethodDefinition method, int index) =>
        Binding(method)?.Arguments.TryGetValue(index + (method.HasThis ? 1 : 0), out var field) == true ? (FieldDefinition)field : null;

    // The IL argument slot of an async method that its state machine's field copies.
    static int? CopiedSlot(MethodDefinition method, FieldDefinition copy)
    {
        if (copy.Name == "<>4__this") return method.HasThis ? 0 : null;
        var parameter = method.Parameters.FirstOrDefault(p => p.Name == copy.Name);
        return parameter is null ? null : parameter.Index + (method.HasThis ? 1 : 0);
    }

    /// <summary>An async method's body, read from its attribute alone: what needs no facts (finding the source) uses it.</summary>
    public static MethodDefinition? StateMachineBody(MethodDefinition method) =>
        method.CustomAttributes.FirstOrDefault(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.AsyncStateMachineAttribute")
            ?.ConstructorArguments.FirstOrDefault().Value is TypeReference type
            && type.Resolve()?.Methods.FirstOrDefault(m => m.Name == "MoveNext") is { HasBody: true } moveNext ? moveNext : null;

    public static TypeDefinition? IteratorStateMachine(MethodDefinition method) =>
        method.CustomAttributes.FirstOrDefault(a => a.AttributeType.FullName is "System.Runtime.CompilerServices.IteratorStateMachineAttribute"
                or "System.Runtime.CompilerServices.AsyncIteratorStateMachineAttribute")
            ?.ConstructorArguments.FirstOrDefault().Value is TypeReference type ? type.Resolve() : null;

    /// <summary>The body of an async method: its state machine's MoveNext, where the compiler moved its code.</summary>
    public MethodDefinition? AsyncBody(MethodDefinition method) => asyncBodies.TryGetValue(method, out var body) ? body : null;

    /// <summary>The async method whose body this MoveNext is, or null.</summary>
    public MethodDefinition? AsyncMethodOf(MethodDefinition body) => asyncMethods.TryGetValue(body, out var method) ? method : null;

    /// <summary>
    /// Whether the method reads its <paramref name="index"/>-th parameter at all (an async method: in its body). One it
    /// never reads (the <c>sender</c> of an event handler) need not travel in its messages.
    /// </summary>
    public bool ReadsParameter(MethodDefinition method, int index)
    {
        var parameter = method.Parameters[index];
        if (AsyncBody(method) is { } body)
            return body.Body.Instructions.Any(i => i.OpCode.Code is Code.Ldfld or Code.Ldflda or Code.Stfld
                                                   && i.Operand is FieldReference f && f.Name == parameter.Name && f.DeclaringType.Resolve() == body.DeclaringType);
        var argument = index + (method.HasThis ? 1 : 0);
        return method.Body.Instructions.Any(i => i.OpCode.Code is Code.Ldarg or Code.Ldarg_S or Code.Ldarg_0 or Code.Ldarg_1 or Code.Ldarg_2
                                                     or Code.Ldarg_3 or Code.Ldarga or Code.Ldarga_S or Code.Starg or Code.Starg_S
                                                 && StackFlow.ArgumentIndex(i) == argument);
    }

    /// <summary>A method as the user wrote it: an async method for its state machine's MoveNext, else the method.</summary>
    public MethodDefinition Written(MethodDefinition method) => AsyncMethodOf(method) ?? method;

    public IEnumerable<MethodDefinition> AllMethods() =>
        module.GetTypes().SelectMany(t => t.Methods);

    public FieldDefinition? Own(FieldReference? reference)
    {
        if (reference is null) return null;
        var field = reference.Resolve();
        return field is not null && field.IsStatic && field.Module == module ? field : null;
    }

    public MethodDefinition? Own(MethodReference? reference)
    {
        if (reference is null) return null;
        var method = reference.Resolve();
        return method is not null && method.Module == module ? method : null;
    }

    IEnumerable<FieldReference> ReturnedStatics(MethodReference method) =>
        Own(method) is { } def && returnedStatics.TryGetValue(def, out var set) ? set : Enumerable.Empty<FieldReference>();

    public MethodFacts Get(MethodDefinition method)
    {
        if (facts.TryGetValue(method, out var known)) return known;
        var result = new MethodFacts(method);
        facts[method] = result;
        if (!method.HasBody) return result;
        var flow = new StackFlow(method, ReturnedStatics, Binding(method));
        result.Flow = flow;
        // An event's add and remove accessors change only its field, which no raise reads once raises are direct calls.
        if (subscriptionAccessors.Contains(method)) return result;

        foreach (var ins in method.Body.Instructions)
        {
            switch (ins.OpCode.Code)
            {
                case Code.Ldsfld:
                case Code.Ldsflda:
                    // The reference in a field that binds instance handlers never changes: loading it touches nothing.
                    // What is done with the object is counted where it is done (Uses below, and the bound methods).
                    if (Own(ins.Operand as FieldReference) is { } read && !bindingFields.Contains(read))
                        result.Accesses.Add(new FieldAccess(read, method, ins, false));
                    break;
                case Code.Stsfld:
                    if (Own(ins.Operand as FieldReference) is { } written) result.Accesses.Add(new FieldAccess(written, method, ins, true));
                    break;
                case Code.Call: case Code.Callvirt: case Code.Newobj: case Code.Ldftn: case Code.Ldvirtftn:
                {
                    // A subscription to an event raised by direct calls: the delegate it makes is never invoked.
                    if (subscriptionTakes.Contains(ins)) break;
                    var callee = (MethodReference)ins.Operand;
                    if (Own(callee) is { } own)
                    {
                        result.Calls.Add((ins, own));
                        if (ins.OpCode.Code is Code.Callvirt or Code.Ldvirtftn && own.IsVirtual && virtualsByName.TryGetValue(own.Name, out var overrides))
                            foreach (var o in overrides)
                                if (o != own && o.Parameters.Count == own.Parameters.Count) result.Calls.Add((ins, o));
                    }
                    else if (!callee.HasThis && ins.OpCode.Code == Code.Call)
                        result.ExternalCalls.Add(callee.DeclaringType.FullName + "." + callee.Name);
                    break;
                }
            }
            // Subscribing to an event raised by direct calls changes nothing those calls read.
            if (ins.Operand is FieldReference touchedField && raisedDirectly.Contains(touchedField.Resolve())) continue;
            foreach (var (origin, write) in Uses(ins, flow))
                if (origin.Kind is OriginKind.Static or OriginKind.StaticAddress && Own(origin.Field) is { } f)
                    result.Accesses.Add(new FieldAccess(f, method, ins, write));
        }
        // An async method runs its body when called (up to its first await that does not complete): its state
        // machine's MoveNext, started by the builder, is a synchronous call of the method.
        // An iterator's body runs as it is enumerated, where the enumerable it returns is: it is what the method does.
        if (IteratorStateMachine(method)?.Methods.FirstOrDefault(m => m.Name == "MoveNext" && m.HasBody) is { } iterator)
            result.Calls.Add((method.Body.Instructions[0], iterator));
        if (AsyncBody(method) is { } body)
        {
            var start = method.Body.Instructions.FirstOrDefault(i => i.OpCode.Code == Code.Call && i.Operand is MethodReference { Name: "Start" } m
                                                                    && m.DeclaringType.Name.Contains("MethodBuilder"))
                        ?? method.Body.Instructions[0];
            result.Calls.Add((start, body));
        }
        return result;
    }

    /// <summary>
    /// Whether the method may keep a reference to the object in its IL argument <paramref name="argument"/> (0 is
    /// <c>this</c> for instance methods): store it in a field, an array or a collection, or return it.
    /// </summary>
    public bool MayRetainArgument(MethodDefinition method, int argument)
    {
        if (retains.TryGetValue((method, argument), out var known)) return known;
        // A least fixed point over every method this one may run: a reference is kept only where some code keeps it.
        var methods = new List<MethodDefinition>();
        var seen = new HashSet<MethodDefinition>();
        var work = new Stack<MethodDefinition>();
        work.Push(method);
        seen.Add(method);
        while (work.Count > 0)
        {
            var m = work.Pop();
            methods.Add(m);
            if (!m.HasBody) continue;
            foreach (var (_, callee) in Get(m).Calls)
                if (seen.Add(callee)) work.Push(callee);
        }
        var local = new Dictionary<(MethodDefinition, int), bool>();
        foreach (var m in methods)
            for (var a = 0; a < m.Parameters.Count + (m.HasThis ? 1 : 0); a++)
                local[(m, a)] = retains.TryGetValue((m, a), out var r) ? r : !m.HasBody;
        bool changed;
        do
        {
            changed = false;
            foreach (var m in methods.Where(m => m.HasBody))
                for (var a = 0; a < m.Parameters.Count + (m.HasThis ? 1 : 0); a++)
                    if (!local[(m, a)] && KeepsArgument(m, a, local))
                    {
                        local[(m, a)] = true;
                        changed = true;
                    }
        } while (changed);
        foreach (var entry in local) retains[entry.Key] = entry.Value;
        return local.TryGetValue((method, argument), out var result) ? result : true;
    }

    bool KeepsArgument(MethodDefinition method, int argument, Dictionary<(MethodDefinition, int), bool> known)
    {
        var flow = Get(method).Flow;
        if (flow is null) return true;
        bool Is(Instruction ins, int n) => flow.Operand(ins, n).Any(o => o.Kind == OriginKind.Argument && o.Index == argument);
        foreach (var ins in method.Body.Instructions)
        {
            switch (ins.OpCode.Code)
            {
                case Code.Ldarga: case Code.Ldarga_S:
                    if (StackFlow.ArgumentIndex(ins) == argument) return true;
                    break;
                case Code.Stsfld: case Code.Ret:
                    if (ins.OpCode.Code == Code.Stsfld || !StackFlow.ReturnsVoid(method))
                        if (Is(ins, 0)) return true;
                    break;
                case Code.Stfld: case Code.Stind_Ref: case Code.Stobj:
                    if (Is(ins, 1)) return true;
                    break;
                case Code.Stelem_Ref: case Code.Stelem_Any:
                    if (Is(ins, 2)) return true;
                    break;
                case Code.Call: case Code.Callvirt: case Code.Newobj:
                {
                    var callee = (MethodReference)ins.Operand;
                    var receiver = callee.HasThis && ins.OpCode.Code != Code.Newobj ? 1 : 0;
                    var pops = StackFlow.Pops(ins, method);
                    var own = Own(callee);
                    for (var n = 0; n < pops; n++)
                    {
                        if (!Is(ins, n)) continue;
                        if (own is not null)
                        {
                            // A constructor's IL arguments start with the object it makes.
                            var index = ins.OpCode.Code == Code.Newobj ? n + 1 : n;
                            if (!own.HasBody || (ins.OpCode.Code == Code.Callvirt && own.IsVirtual && !own.IsFinal)) return true;
                            if (!known.TryGetValue((own, index), out var keeps) || keeps) return true;
                        }
                        else if (n >= receiver && MemberRules.MayRetainArgument(callee)) return true;
                    }
                    break;
                }
            }
        }
        return false;
    }

    /// <summary>Whether the method may change the object its <paramref name="index"/>-th parameter refers to.</summary>
    public bool MutatesParameter(MethodDefinition method, int index) => MutatesArgument(method, index + (method.HasThis ? 1 : 0));

    /// <summary>Whether the method may change the object its IL argument <paramref name="argument"/> (0 is <c>this</c> for instance methods) refers to.</summary>
    public bool MutatesArgument(MethodDefinition method, int argument)
    {
        var key = (method, argument);
        if (mutatesParameter.TryGetValue(key, out var known)) return known;
        mutatesParameter[key] = true; // recursion: assume the worst while looking
        var result = method.HasBody && Get(method).Flow is { } flow &&
                     method.Body.Instructions.Any(ins => Uses(ins, flow).Any(u => u.Write &&
                         u.Origin.Kind is OriginKind.Argument or OriginKind.ArgumentAddress && u.Origin.Index == argument));
        if (!method.HasBody) result = true;
        mutatesParameter[key] = result;
        return result;
    }

    /// <summary>
    /// The values <paramref name="ins"/> consumes, each with whether the use may change the object (or storage) it refers to.
    /// A value stored somewhere else escapes: that counts as a write too, since it can be changed from there.
    /// </summary>
    IEnumerable<(Origin Origin, bool Write)> Uses(Instruction ins, StackFlow flow)
    {
        var code = ins.OpCode.Code;
        switch (code)
        {
            case Code.Call: case Code.Callvirt: case Code.Newobj:
            {
                var callee = (MethodReference)ins.Operand;
                // The await plumbing changes the builder, awaiters and state machine: nothing of the program's.
                if (MemberRules.IsAwaitPlumbing(callee)) break;
                var pops = StackFlow.Pops(ins, flow.Method);
                var hasReceiver = callee.HasThis && code != Code.Newobj;
                // A method given the object of a static field (as "this" or a parameter) touches its state in its own body.
                var boundArguments = Own(callee) is { } target ? Binding(target) : null;
                for (var n = 0; n < pops; n++)
                {
                    bool write;
                    if (boundArguments is not null && code != Code.Newobj && boundArguments.Arguments.ContainsKey(n)) continue;
                    if (hasReceiver && n == 0)
                        // This module's own code is read for what it does to its receiver (a record's getter only reads);
                        // a virtual call may run an override, which is not looked at.
                        write = Own(callee) is { HasBody: true } ownReceiver && (code == Code.Call || !ownReceiver.IsVirtual || ownReceiver.IsFinal)
                            ? MutatesArgument(ownReceiver, 0)
                            : !MemberRules.IsReadOnlyOnReceiver(callee);
                    else
                    {
                        var parameter = n - (hasReceiver ? 1 : 0);
                        write = Own(callee) is { } own
                            ? own.HasBody ? MutatesParameter(own, parameter) : true
                            : !MemberRules.IsReadOnlyOnArgument(callee);
                    }
                    foreach (var o in flow.Operand(ins, n)) yield return (o, write);
                }
                break;
            }
            case Code.Stfld:
                // An async method's local, kept in its state machine (or an argument its stub copies into it): storing
                // into it changes nothing shared.
                if (flow.StoresLocalOfStateMachine(ins)) break;
                if (AsyncBody(flow.Method) is { } started && flow.Operand(ins, 0).All(o => o.Kind == OriginKind.LocalAddress)
                    && (ins.Operand as FieldReference)?.DeclaringType.Resolve() == started.DeclaringType) break;
                foreach (var o in flow.Operand(ins, 0)) yield return (o, true);
                foreach (var o in flow.Operand(ins, 1)) yield return (o, true);
                break;
            case Code.Stsfld:
                foreach (var o in flow.Operand(ins, 0)) yield return (o, true);
                break;
            case Code.Stelem_Any: case Code.Stelem_I: case Code.Stelem_I1: case Code.Stelem_I2: case Code.Stelem_I4:
            case Code.Stelem_I8: case Code.Stelem_R4: case Code.Stelem_R8: case Code.Stelem_Ref:
                foreach (var o in flow.Operand(ins, 0)) yield return (o, true);
                foreach (var o in flow.Operand(ins, 2)) yield return (o, true);
                break;
            case Code.Ldelema:
                foreach (var o in flow.Operand(ins, 0)) yield return (o, true);
                break;
            case Code.Stind_I: case Code.Stind_I1: case Code.Stind_I2: case Code.Stind_I4: case Code.Stind_I8:
            case Code.Stind_R4: case Code.Stind_R8: case Code.Stind_Ref: case Code.Stobj: case Code.Initobj:
                foreach (var o in flow.Operand(ins, 0)) yield return (o, true);
                if (code is not Code.Initobj) foreach (var o in flow.Operand(ins, 1)) yield return (o, true);
                break;
            case Code.Ldfld: case Code.Ldflda: case Code.Ldlen:
            case Code.Ldelem_Any: case Code.Ldelem_I: case Code.Ldelem_I1: case Code.Ldelem_I2: case Code.Ldelem_I4:
            case Code.Ldelem_I8: case Code.Ldelem_R4: case Code.Ldelem_R8: case Code.Ldelem_Ref: case Code.Ldelem_U1:
            case Code.Ldelem_U2: case Code.Ldelem_U4:
                foreach (var o in flow.Operand(ins, 0)) yield return (o, code == Code.Ldflda);
                break;
        }
    }
}
