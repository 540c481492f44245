using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;
using Weaving.Fody.Plan;

namespace Weaving.Fody.Rewriting;

/// <summary>
/// Carries out a plan; decides nothing. Per stage: a message type and a Post stub, with every cut call site redirected
/// to the stub (one operand per site). Per group: a state object holding its moved fields, every access to them going
/// through accessors. The entry point starts and drains the pipeline; assembly attributes describe stages and groups.
/// </summary>
public sealed class Rewriter(ModuleDefinition module, WeavingPlan plan, RuntimeReferences runtime)
{
    // Post stubs per stage; a stage whose messages carry streamed values has one per group that posts to it.
    readonly Dictionary<(MethodDefinition Handler, Group? From), MethodDefinition> postStubs = new();
    readonly Dictionary<Stage, TypeDefinition> messageTypes = new();
    readonly Dictionary<Stage, Dictionary<FieldPlan, FieldDefinition>> carriedFields = new();
    readonly Dictionary<FieldDefinition, (MethodDefinition Get, MethodDefinition Set, MethodDefinition Address)> accessors = new();
    // A streamed field's copy in each reading group.
    readonly Dictionary<(FieldDefinition, Group), (MethodDefinition Get, MethodDefinition Set, MethodDefinition Address)> copies = new();
    readonly Dictionary<FieldDefinition, FieldPlan> streamed = new();
    readonly HashSet<MethodDefinition> touched = [];

    /// <summary>Every method the rewriting created or edited: the tests force the JIT over each.</summary>
    public IReadOnlyCollection<MethodDefinition> TouchedMethods => touched;

    public void Apply(string buildHash, byte[] stageMapJson)
    {
        foreach (var field in plan.Fields.Where(f => f.Placement == Placement.Streamed)) streamed[field.Field] = field;
        foreach (var group in plan.Groups.Where(g => g.OwnedFields.Any(f => f.Moves) || g.StreamedCopies.Count > 0)) WriteStateObject(group);
        foreach (var stage in plan.Stages) WriteMessageType(stage);
        foreach (var stage in plan.Stages) WritePostStubs(stage);
        RedirectCallSites();
        RedirectFieldAccesses();
        foreach (var group in plan.Groups) WriteSnapshots(group);
        foreach (var group in plan.Groups.Where(g => g.Checkpoint.Count > 0)) checkpoints[group] = WriteCheckpoint(group);
        if (plan.Source is not null) WaitBeforeSourceUses(plan.Source);
        if (plan.EntryPoint is not null && plan.Stages.Count > 0) WrapEntryPoint(plan.EntryPoint);
        RemoveWeavingAttributes();
        WriteAssemblyAttributes(buildHash);
        if (describe is not null) WriteDescription(describe);
        module.Resources.Add(new EmbeddedResource("Weaving.stages.json", ManifestResourceAttributes.Public, stageMapJson));
    }

    void WriteMessageType(Stage stage)
    {
        var handler = stage.Handler;
        var owner = handler.DeclaringType;
        var name = $"<{handler.Name}>Message";
        for (var i = 2; owner.NestedTypes.Any(t => t.Name == name); i++) name = $"<{handler.Name}>Message{i}";
        var type = new TypeDefinition("", name,
            TypeAttributes.NestedPublic | TypeAttributes.Sealed | TypeAttributes.Class | TypeAttributes.BeforeFieldInit,
            runtime.StageMessage);
        runtime.MarkGenerated(type);
        owner.NestedTypes.Add(type);

        // A parameter the handler never reads (an event's sender) has no field: the handler gets its default value.
        var fields = handler.Parameters.Select((p, i) =>
        {
            if (stage.Supplied.ContainsKey(i)) return null;
            var field = new FieldDefinition(string.IsNullOrEmpty(p.Name) ? "arg" + i : p.Name, FieldAttributes.Public, p.ParameterType);
            type.Fields.Add(field);
            return field;
        }).ToList();
        argumentFields[stage] = fields;
        // Streamed values travel beside the arguments, under names no parameter can have.
        var carried = new Dictionary<FieldPlan, FieldDefinition>();
        foreach (var streamedField in stage.Carries)
        {
            var original = streamedField.Field;
            var field = new FieldDefinition($"<{original.DeclaringType.Name}.{original.Name}>", FieldAttributes.Public, original.FieldType);
            type.Fields.Add(field);
            carried[streamedField] = field;
        }
        carriedFields[stage] = carried;

        var constructor = DefaultConstructor(type, runtime.StageMessageConstructor);

        var invoke = new MethodDefinition("Invoke",
            MethodAttributes.Public | MethodAttributes.Virtual | MethodAttributes.HideBySig, module.TypeSystem.Void);
        var il = invoke.Body.GetILProcessor();
        // The group's copy of each streamed value is the one this message brought, for the handler and its posts.
        foreach (var entry in carried)
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldfld, entry.Value);
            il.Emit(OpCodes.Call, copies[(entry.Key.Field, stage.Group)].Set);
        }
        var previous = BeginHandler(il, invoke, handler);
        // An instance handler runs on the object of its static field, in this process (made by its type initializer).
        if (stage.Receiver is not null)
        {
            VisibleInAssembly(stage.Receiver);
            il.Emit(OpCodes.Ldsfld, stage.Receiver);
        }
        for (var i = 0; i < fields.Count; i++)
        {
            if (fields[i] is { } field)
            {
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldfld, field);
            }
            else if (stage.Supplied[i] is { } supplied)
            {
                VisibleInAssembly(supplied);
                il.Emit(OpCodes.Ldsfld, supplied);
            }
            else
                DefaultValue(il, invoke, handler.Parameters[i].ParameterType);
        }
        il.Emit(handler.IsStatic ? OpCodes.Call : OpCodes.Callvirt, handler);
        WaitForHandler(il, handler, previous);
        il.Emit(OpCodes.Ret);
        type.Methods.Add(invoke);
        touched.Add(invoke);
        messageTypes[stage] = type;
    }

    void WritePostStubs(Stage stage)
    {
        var callerGroups = plan.CallSites.Where(c => c.Cut && c.Callee == stage.Handler)
            .Select(c => plan.StageOf(c.Caller)?.Group).Distinct().ToList();
        if (stage.Carries.Count == 0 || callerGroups.Count == 0) callerGroups = [null];
        var index = 0;
        foreach (var from in callerGroups)
            postStubs[(stage.Handler, stage.Carries.Count == 0 ? null : from)] = WritePostStub(stage, from, index++);
    }

    // Decides before it allocates: when the runtime says the group runs inline here, the handler is called directly (the
    // streamed values set as a message would bring them, a throw reported as the message's failure); otherwise a message
    // is made, capturing the streamed values as the posting group sees them (the writer's state, or the group's copy).
    MethodDefinition WritePostStub(Stage stage, Group? from, int index)
    {
        var handler = stage.Handler;
        var type = messageTypes[stage];
        var route = RouteField(type);
        var access = handler.Attributes & MethodAttributes.MemberAccessMask;
        var name = index == 0 ? $"<{handler.Name}>Post" : $"<{handler.Name}>Post{index + 1}";
        // An async handler's stub returns what the handler returned, a task, done by the time the caller sees it.
        var stub = new MethodDefinition(name, access | MethodAttributes.Static | MethodAttributes.HideBySig, handler.ReturnType);
        // An instance handler's stub takes the object the call was made on: run inline, the handler runs on it; as a
        // message, where the group runs, on that process's object of the same static field.
        if (!handler.IsStatic) stub.Parameters.Add(new ParameterDefinition("receiver", ParameterAttributes.None, handler.DeclaringType));
        foreach (var p in handler.Parameters) stub.Parameters.Add(new ParameterDefinition(p.Name, ParameterAttributes.None, p.ParameterType));
        var arguments = handler.IsStatic ? 0 : 1;
        runtime.MarkGenerated(stub);
        var il = stub.Body.GetILProcessor();
        MethodReference StreamedValue(FieldPlan carried) =>
            from is not null && copies.TryGetValue((carried.Field, from), out var copy) ? copy.Get : accessors[carried.Field].Get;

        var asMessage = il.Create(OpCodes.Newobj, type.Methods.First(m => m.IsConstructor));
        var returned = il.Create(OpCodes.Ldsfld, route);
        il.Emit(OpCodes.Ldsfld, route);
        il.Emit(OpCodes.Call, runtime.TryRunInline);
        il.Emit(OpCodes.Brfalse, asMessage);

        var tryStart = il.Create(OpCodes.Nop);
        il.Append(tryStart);
        foreach (var entry in carriedFields[stage])
        {
            il.Emit(OpCodes.Call, StreamedValue(entry.Key));
            il.Emit(OpCodes.Call, copies[(entry.Key.Field, stage.Group)].Set);
        }
        var previous = BeginHandler(il, stub, handler);
        foreach (var parameter in stub.Parameters) il.Emit(OpCodes.Ldarg, parameter);
        il.Emit(handler.IsStatic ? OpCodes.Call : OpCodes.Callvirt, handler);
        WaitForHandler(il, handler, previous);
        il.Emit(OpCodes.Leave, returned);
        var failed = il.Create(OpCodes.Ldsfld, route);
        il.Append(failed);
        il.Emit(OpCodes.Call, runtime.InlineFailed);
        il.Emit(OpCodes.Leave, returned);
        il.Append(returned);
        il.Emit(OpCodes.Call, runtime.InlineReturned);
        ReturnPosted(il, handler);
        il.Emit(OpCodes.Ret);
        stub.Body.ExceptionHandlers.Add(new ExceptionHandler(ExceptionHandlerType.Catch)
        {
            TryStart = tryStart, TryEnd = failed, HandlerStart = failed, HandlerEnd = returned, CatchType = runtime.Exception,
        });

        il.Append(asMessage);
        for (var i = 0; i < handler.Parameters.Count; i++)
        {
            if (argumentFields[stage][i] is not { } field) continue;
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Ldarg, stub.Parameters[i + arguments]);
            il.Emit(OpCodes.Stfld, field);
        }
        foreach (var entry in carriedFields[stage])
        {
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Call, StreamedValue(entry.Key));
            il.Emit(OpCodes.Stfld, entry.Value);
        }
        il.Emit(OpCodes.Call, runtime.Post);
        ReturnPosted(il, handler);
        il.Emit(OpCodes.Ret);
        stub.Body.OptimizeMacros();
        handler.DeclaringType.Methods.Add(stub);
        touched.Add(stub);
        return stub;
    }

    // A field read from generated code in another type: the assembly may see it, as it may the types around it.
    static void VisibleInAssembly(FieldDefinition field)
    {
        if (field.IsPrivate || field.IsFamily || field.IsFamilyAndAssembly) field.IsAssembly = true;
        OpenNestingTypes(field.DeclaringType);
    }

    // A private nested type (and those around it) becomes visible to the whole assembly, for generated code elsewhere.
    static void OpenNestingTypes(TypeDefinition? type)
    {
        for (var t = type; t is { IsNested: true }; t = t.DeclaringType)
            if (t.IsNestedPrivate || t.IsNestedFamily || t.IsNestedFamilyAndAssembly) t.IsNestedAssembly = true;
    }

    readonly Dictionary<Stage, List<FieldDefinition?>> argumentFields = new();

    // default(T) for a parameter that does not travel.
    static void DefaultValue(ILProcessor il, MethodDefinition method, TypeReference type)
    {
        if (!type.IsValueType && !type.IsGenericParameter)
        {
            il.Emit(OpCodes.Ldnull);
            return;
        }
        var local = new VariableDefinition(type);
        method.Body.Variables.Add(local);
        method.Body.InitLocals = true;
        il.Emit(OpCodes.Ldloca, local);
        il.Emit(OpCodes.Initobj, type);
        il.Emit(OpCodes.Ldloc, local);
    }

    // An async handler's continuations come back to the thread that waits for it (AsyncHandlers.Begin), and its task is
    // waited for there: the group takes its next message after it.
    VariableDefinition? BeginHandler(ILProcessor il, MethodDefinition method, MethodDefinition handler)
    {
        if (handler.ReturnType.MetadataType == MetadataType.Void) return null;
        var previous = new VariableDefinition(runtime.SynchronizationContext);
        method.Body.Variables.Add(previous);
        il.Emit(OpCodes.Call, runtime.BeginAsyncHandler);
        il.Emit(OpCodes.Stloc, previous);
        return previous;
    }

    void WaitForHandler(ILProcessor il, MethodDefinition handler, VariableDefinition? previous)
    {
        if (previous is null) return;
        il.Emit(OpCodes.Ldloc, previous);
        il.Emit(OpCodes.Call, handler.ReturnType.FullName == "System.Threading.Tasks.ValueTask" ? runtime.WaitValueTask : runtime.WaitTask);
    }

    void ReturnPosted(ILProcessor il, MethodDefinition handler)
    {
        if (handler.ReturnType.MetadataType == MetadataType.Void) return;
        il.Emit(OpCodes.Call, handler.ReturnType.FullName == "System.Threading.Tasks.ValueTask" ? runtime.PostedValueTask : runtime.PostedTask);
    }

    // The stage's route, set by the in-memory runtime when it starts (null under a broker): one static field per message type.
    FieldDefinition RouteField(TypeDefinition messageType)
    {
        var existing = messageType.Fields.FirstOrDefault(f => f.IsStatic && f.Name == runtime.StageRouteFieldName);
        if (existing is not null) return existing;
        var field = new FieldDefinition(runtime.StageRouteFieldName, FieldAttributes.Public | FieldAttributes.Static, runtime.StageRoute);
        messageType.Fields.Add(field);
        return field;
    }

    void WriteStateObject(Group group)
    {
        var state = new TypeDefinition("", $"<{group.Name.Replace('.', '_')}>State",
            TypeAttributes.NotPublic | TypeAttributes.Sealed | TypeAttributes.Class | TypeAttributes.BeforeFieldInit,
            module.TypeSystem.Object);
        runtime.MarkGenerated(state);
        module.Types.Add(state);

        var constructor = DefaultConstructor(state, runtime.ObjectConstructor);

        var instance = new FieldDefinition("Instance", FieldAttributes.Assembly | FieldAttributes.Static | FieldAttributes.InitOnly, state);
        state.Fields.Add(instance);
        var initializer = new MethodDefinition(".cctor",
            MethodAttributes.Private | MethodAttributes.Static | MethodAttributes.HideBySig | MethodAttributes.SpecialName | MethodAttributes.RTSpecialName,
            module.TypeSystem.Void);
        var il = initializer.Body.GetILProcessor();
        il.Emit(OpCodes.Newobj, constructor);
        il.Emit(OpCodes.Stsfld, instance);
        il.Emit(OpCodes.Ret);
        state.Methods.Add(initializer);
        touched.Add(initializer);

        foreach (var fieldPlan in group.OwnedFields.Where(f => f.Moves))
        {
            var original = fieldPlan.Field;
            var owner = original.DeclaringType;
            var name = original.DeclaringType.Name + "_" + original.Name;
            var slot = new FieldDefinition(name, FieldAttributes.Assembly, original.FieldType);
            state.Fields.Add(slot);

            // Accessors live in the field's own type: calling them runs that type's initializer, as the field access did.
            var (get, set, address) = SlotAccessors(owner, original, "", instance, slot);
            accessors[original] = (get, set, address);
            // Without beforefieldinit the type initializer runs before the first call of any of its methods,
            // so the state is initialised before any stage reads it.
            owner.IsBeforeFieldInit = false;
        }
        foreach (var fieldPlan in group.StreamedCopies) WriteStreamedCopy(state, instance, group, fieldPlan);
    }

    // A reading group's copy of a streamed field: set from each message, read by the group's code and posts.
    void WriteStreamedCopy(TypeDefinition state, FieldDefinition instance, Group group, FieldPlan fieldPlan)
    {
        var original = fieldPlan.Field;
        var owner = original.DeclaringType;
        var slot = new FieldDefinition(owner.Name + "_" + original.Name + "_copy", FieldAttributes.Assembly, original.FieldType);
        state.Fields.Add(slot);
        var (get, set, address) = SlotAccessors(owner, original, "_" + group.Name.Replace('.', '_'), instance, slot);
        copies[(original, group)] = (get, set, address);
    }

    // get, set and address accessors of one slot of a state object, standing in for ldsfld, stsfld and ldsflda.
    (MethodDefinition Get, MethodDefinition Set, MethodDefinition Address) SlotAccessors(TypeDefinition owner,
        FieldDefinition original, string suffix, FieldDefinition instance, FieldDefinition slot)
    {
        var get = Accessor(owner, $"<{original.Name}>get{suffix}", original.FieldType, [], il =>
        {
            il.Emit(OpCodes.Ldsfld, instance);
            il.Emit(OpCodes.Ldfld, slot);
        });
        var set = Accessor(owner, $"<{original.Name}>set{suffix}", module.TypeSystem.Void, [original.FieldType], il =>
        {
            il.Emit(OpCodes.Ldsfld, instance);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Stfld, slot);
        });
        var address = Accessor(owner, $"<{original.Name}>address{suffix}", new ByReferenceType(original.FieldType), [], il =>
        {
            il.Emit(OpCodes.Ldsfld, instance);
            il.Emit(OpCodes.Ldflda, slot);
        });
        return (get, set, address);
    }

    // A public parameterless constructor that only calls the base one.
    MethodDefinition DefaultConstructor(TypeDefinition type, MethodReference baseConstructor)
    {
        var constructor = new MethodDefinition(".ctor",
            MethodAttributes.Public | MethodAttributes.HideBySig | MethodAttributes.SpecialName | MethodAttributes.RTSpecialName,
            module.TypeSystem.Void);
        var il = constructor.Body.GetILProcessor();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, baseConstructor);
        il.Emit(OpCodes.Ret);
        type.Methods.Add(constructor);
        touched.Add(constructor);
        return constructor;
    }

    MethodDefinition Accessor(TypeDefinition owner, string name, TypeReference returnType, TypeReference[] parameters, Action<ILProcessor> load)
    {
        var method = new MethodDefinition(name, MethodAttributes.Assembly | MethodAttributes.Static | MethodAttributes.HideBySig, returnType);
        foreach (var p in parameters) method.Parameters.Add(new ParameterDefinition("value", ParameterAttributes.None, p));
        runtime.MarkGenerated(method);
        var il = method.Body.GetILProcessor();
        load(il);
        il.Emit(OpCodes.Ret);
        owner.Methods.Add(method);
        touched.Add(method);
        return method;
    }

    void RedirectCallSites()
    {
        foreach (var site in plan.CallSites.Where(s => s.Cut))
        {
            var from = plan.StageOf(site.Callee)!.Carries.Count == 0 ? null : plan.StageOf(site.Caller)?.Group;
            site.Instruction.Operand = postStubs.TryGetValue((site.Callee, from), out var stub) ? stub : postStubs.First(p => p.Key.Handler == site.Callee).Value;
            site.Instruction.OpCode = OpCodes.Call; // an instance handler's callvirt becomes a call of its static stub
            touched.Add(site.Caller);
        }
    }

    void RedirectFieldAccesses()
    {
        if (accessors.Count == 0) return;
        foreach (var method in module.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody).ToList())
        {
            var changed = false;
            foreach (var ins in method.Body.Instructions)
            {
                if (ins.OpCode.Code is not (Code.Ldsfld or Code.Stsfld or Code.Ldsflda)) continue;
                var field = (ins.Operand as FieldReference)?.Resolve();
                if (field is null || field.Module != module || !accessors.TryGetValue(field, out var access)) continue;
                if (streamed.TryGetValue(field, out var stream) && stream.CopyUsedBy.TryGetValue(method, out var reader))
                    access = copies[(field, reader)];
                if (ins.Previous?.OpCode.Code == Code.Volatile) { ins.Previous.OpCode = OpCodes.Nop; ins.Previous.Operand = null; }
                ins.Operand = ins.OpCode.Code switch
                {
                    Code.Ldsfld => access.Get,
                    Code.Stsfld => access.Set,
                    _ => access.Address,
                };
                ins.OpCode = OpCodes.Call;
                changed = true;
            }
            if (changed) touched.Add(method);
        }
        foreach (var field in accessors.Keys) field.DeclaringType.Fields.Remove(field);
    }

    void WrapEntryPoint(MethodDefinition main)
    {
        var body = main.Body;
        body.SimplifyMacros();
        var il = body.GetILProcessor();
        var first = body.Instructions[0];
        // Start first, with the app's description; branches to the old first instruction keep skipping the start, which
        // is what they meant.
        describe = new MethodDefinition("<Weaving>Describe", MethodAttributes.Assembly | MethodAttributes.Static | MethodAttributes.HideBySig,
            runtime.WovenAppDescription);
        runtime.MarkGenerated(describe);
        main.DeclaringType.Methods.Add(describe);
        il.InsertBefore(first, il.Create(OpCodes.Ldtoken, main.DeclaringType));
        il.InsertBefore(first, il.Create(OpCodes.Call, runtime.GetTypeFromHandle));
        il.InsertBefore(first, il.Create(OpCodes.Call, describe));
        il.InsertBefore(first, il.Create(OpCodes.Call, runtime.StartSource));

        // Every return drains first. A ret is never inside a protected block, so a branch to the end is valid;
        // the return value (if any) stays on the stack across the branch.
        var returnsInt = main.ReturnType.MetadataType == MetadataType.Int32;
        var finish = il.Create(OpCodes.Call, returnsInt ? runtime.FinishSourceInt : runtime.FinishSourceVoid);
        foreach (var ret in body.Instructions.Where(i => i.OpCode.Code == Code.Ret).ToList())
        {
            ret.OpCode = OpCodes.Br;
            ret.Operand = finish;
        }
        il.Append(finish);
        il.Append(il.Create(OpCodes.Ret));
        body.OptimizeMacros();
        touched.Add(main);
    }

    // Per group, the snapshot messages that carry what the source set up to it (a seed) and its state back to the source
    // (results): docs/design.md §6. Their fields are written and read through each field's accessors.
    readonly Dictionary<Group, (TypeDefinition? Seed, TypeDefinition? Results)> snapshots = new();

    void WriteSnapshots(Group group)
    {
        if (group.Seeded.Count == 0 && group.Results.Count == 0) return;
        var seed = group.Seeded.Count > 0 ? WriteSnapshot(group, "Seed", group.Seeded, applyOnInvoke: true) : null;
        var results = group.Results.Count > 0 ? WriteSnapshot(group, "Results", group.Results, applyOnInvoke: false) : null;
        snapshots[group] = (seed, results);
    }

    TypeDefinition WriteSnapshot(Group group, string kind, List<FieldPlan> fields, bool applyOnInvoke)
    {
        var type = new TypeDefinition("", $"<{group.Name.Replace('.', '_')}>{kind}",
            TypeAttributes.NotPublic | TypeAttributes.Sealed | TypeAttributes.Class | TypeAttributes.BeforeFieldInit, runtime.StateSnapshot);
        runtime.MarkGenerated(type);
        module.Types.Add(type);
        DefaultConstructor(type, runtime.StateSnapshotConstructor);

        var capture = Override(type, "Capture");
        var apply = Override(type, "Apply");
        foreach (var plan in fields)
        {
            var original = plan.Field;
            if (plan.ObjectState is { } objectFields)
            {
                WriteObjectState(type, capture, apply, plan, objectFields);
                continue;
            }
            // Moved fields are gone from their type by now: the plan kept their names.
            var slot = new FieldDefinition(plan.Name.Replace('.', '_').Replace('+', '_'), FieldAttributes.Public, original.FieldType);
            type.Fields.Add(slot);
            var (get, set) = ValueAccessors(original);
            capture.Emit(OpCodes.Ldarg_0);
            capture.Emit(OpCodes.Call, get);
            capture.Emit(OpCodes.Stfld, slot);
            apply.Emit(OpCodes.Ldarg_0);
            apply.Emit(OpCodes.Ldfld, slot);
            apply.Emit(OpCodes.Call, set);
        }
        capture.Emit(OpCodes.Ret);
        apply.Emit(OpCodes.Ret);
        var invoke = Override(type, "Invoke");
        invoke.Emit(OpCodes.Ldarg_0);
        invoke.Emit(OpCodes.Callvirt, applyOnInvoke ? runtime.StateSnapshotApply : runtime.StateSnapshotCapture);
        invoke.Emit(OpCodes.Ret);
        return type;
    }

    // The object instance handlers run on stays where it is in each process (its type initializer made it there); what
    // travels is its fields, read from it and written into it.
    void WriteObjectState(TypeDefinition type, ILProcessor capture, ILProcessor apply, FieldPlan plan, List<FieldDefinition> objectFields)
    {
        var (get, set) = ValueAccessors(plan.Field);
        // Where the source never ran (a group's host), the object it made is not there yet: it is made empty, without
        // its constructor (which ran in the source), and gets the fields the source's object had.
        var instance = new VariableDefinition(plan.Field.FieldType);
        apply.Body.Variables.Add(instance);
        apply.Body.InitLocals = true;
        var ready = apply.Create(OpCodes.Nop);
        apply.Emit(OpCodes.Call, get);
        apply.Emit(OpCodes.Stloc, instance);
        apply.Emit(OpCodes.Ldloc, instance);
        apply.Emit(OpCodes.Brtrue, ready);
        apply.Emit(OpCodes.Ldtoken, plan.Field.FieldType);
        apply.Emit(OpCodes.Call, runtime.GetTypeFromHandle);
        apply.Emit(OpCodes.Call, runtime.GetUninitializedObject);
        apply.Emit(OpCodes.Castclass, plan.Field.FieldType);
        apply.Emit(OpCodes.Stloc, instance);
        apply.Emit(OpCodes.Ldloc, instance);
        apply.Emit(OpCodes.Call, set);
        apply.Append(ready);
        foreach (var field in objectFields)
        {
            field.IsInitOnly = false;
            VisibleInAssembly(field);
            var slot = new FieldDefinition($"{plan.Name}.{field.Name}".Replace('.', '_').Replace('+', '_').Replace('<', '_').Replace('>', '_'),
                FieldAttributes.Public, field.FieldType);
            type.Fields.Add(slot);
            capture.Emit(OpCodes.Ldarg_0);
            capture.Emit(OpCodes.Call, get);
            capture.Emit(OpCodes.Ldfld, field);
            capture.Emit(OpCodes.Stfld, slot);
            apply.Emit(OpCodes.Ldloc, instance);
            apply.Emit(OpCodes.Ldarg_0);
            apply.Emit(OpCodes.Ldfld, slot);
            apply.Emit(OpCodes.Stfld, field);
        }
    }

    ILProcessor Override(TypeDefinition type, string name)
    {
        var method = new MethodDefinition(name, MethodAttributes.Public | MethodAttributes.Virtual | MethodAttributes.HideBySig, module.TypeSystem.Void);
        type.Methods.Add(method);
        touched.Add(method);
        return method.Body.GetILProcessor();
    }

    // A moved field is read and written through its state accessors; a frozen one stays static, and gets a pair of its
    // own in its type (which may be private to it), no longer readonly: a seed sets it in another process.
    (MethodReference Get, MethodReference Set) ValueAccessors(FieldDefinition original)
    {
        if (accessors.TryGetValue(original, out var moved)) return (moved.Get, moved.Set);
        if (frozenAccessors.TryGetValue(original, out var known)) return known;
        var owner = original.DeclaringType;
        original.IsInitOnly = false;
        OpenNestingTypes(owner);
        var get = Accessor(owner, $"<{original.Name}>frozen_get", original.FieldType, [], il => il.Emit(OpCodes.Ldsfld, original));
        var set = Accessor(owner, $"<{original.Name}>frozen_set", module.TypeSystem.Void, [original.FieldType], il =>
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Stsfld, original);
        });
        frozenAccessors[original] = (get, set);
        return (get, set);
    }

    readonly Dictionary<FieldDefinition, (MethodReference Get, MethodReference Set)> frozenAccessors = new();

    // Before each read of a result, the source waits for the group's work and, across processes, fetches its state.
    // The read's instruction becomes the start of the call, so that branches to it and its sequence point still apply.
    // Where the source prints after posts to stages that print, it drains first: their lines come before its own.
    void WaitBeforeSourceUses(MethodDefinition source)
    {
        var calls = plan.Fields.Where(f => f.Group is not null && f.SourceReadsAfterPosts.Count > 0)
            .SelectMany(f => f.SourceReadsAfterPosts.Select(at => (At: at, Group: (string?)f.Group!.Name)))
            .Concat(plan.SourceConsoleDrains.Select(at => (At: at, Group: (string?)null)))
            .Distinct().ToList();
        if (calls.Count == 0) return;
        var body = source.Body;
        body.SimplifyMacros();
        var il = body.GetILProcessor();
        foreach (var at in calls.Select(r => r.At).Distinct().ToList())
        {
            var code = new List<Instruction>();
            // A drain first (the console), then each group's state, in a fixed order.
            if (calls.Any(c => c.At == at && c.Group is null)) code.Add(il.Create(OpCodes.Call, runtime.Drain));
            foreach (var group in calls.Where(c => c.At == at && c.Group is not null).Select(c => c.Group!).OrderBy(g => g, StringComparer.Ordinal))
            {
                code.Add(il.Create(OpCodes.Ldstr, group));
                code.Add(il.Create(OpCodes.Call, runtime.SyncState));
            }
            Splice.InsertBefore(il, at, code);
        }
        body.OptimizeMacros();
        touched.Add(source);
    }

    void RemoveWeavingAttributes() => WeavingAttributes.Remove(module);

    // Per group that can keep checkpoints, the snapshot of everything it holds (docs/design.md §6.6).
    readonly Dictionary<Group, TypeDefinition> checkpoints = new();

    // The snapshot is a top-level type: the accessors it calls live in the fields' own types, which may be private nested
    // ones (as a frozen field's are opened in ValueAccessors).
    TypeDefinition WriteCheckpoint(Group group)
    {
        foreach (var field in group.Checkpoint) OpenNestingTypes(ValueAccessors(field.Field).Get.DeclaringType.Resolve());
        return WriteSnapshot(group, "Checkpoint", group.Checkpoint, applyOnInvoke: false);
    }

    void WriteCheckpointAttributes()
    {
        foreach (var entry in checkpoints)
        {
            var (group, type) = (entry.Key, entry.Value);
            var attribute = new CustomAttribute(runtime.WovenStageConstructor);
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, group.Name + "#checkpoint"));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, group.Name));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, type.FullName));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.Boolean, false));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(new ArrayType(module.TypeSystem.String), Array.Empty<CustomAttributeArgument>()));
            // StageKind.Checkpoint
            attribute.Properties.Add(new CustomAttributeNamedArgument("Kind", new CustomAttributeArgument(runtime.StageKind, 3)));
            module.Assembly.CustomAttributes.Add(attribute);
        }
    }

    void WriteAssemblyAttributes(string buildHash)
    {
        WriteCheckpointAttributes();
        var attributes = module.Assembly.CustomAttributes;
        var woven = new CustomAttribute(runtime.WovenAssemblyConstructor);
        woven.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, buildHash));
        woven.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, runtime.RuntimeVersion));
        attributes.Add(woven);

        foreach (var group in plan.Groups)
        {
            var attribute = new CustomAttribute(runtime.WovenGroupConstructor);
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, group.Name));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.Int32, group.Rank));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.Boolean, group.OwnsState));
            attributes.Add(attribute);
        }
        var stringArray = new ArrayType(module.TypeSystem.String);
        foreach (var entry in snapshots)
            foreach (var (type, kind) in new[] { (entry.Value.Seed, 1), (entry.Value.Results, 2) })
            {
                if (type is null) continue;
                var attribute = new CustomAttribute(runtime.WovenStageConstructor);
                attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, SnapshotStageName(entry.Key, kind == 1)));
                attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, entry.Key.Name));
                attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, type.FullName.Replace('/', '+')));
                attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.Boolean, false));
                attribute.ConstructorArguments.Add(new CustomAttributeArgument(stringArray, Array.Empty<CustomAttributeArgument>()));
                attribute.Properties.Add(new CustomAttributeNamedArgument("Kind", new CustomAttributeArgument(runtime.StageKind, kind)));
                attributes.Add(attribute);
            }
        foreach (var stage in plan.Stages)
        {
            var attribute = new CustomAttribute(runtime.WovenStageConstructor);
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, stage.Name));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, stage.Group.Name));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, messageTypes[stage].FullName.Replace('/', '+')));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.Boolean, stage.CopyArguments));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(stringArray,
                stage.BarrierAfter.Select(b => new CustomAttributeArgument(module.TypeSystem.String, b.Name)).ToArray()));
            if (stage.Seeds.Count > 0)
                attribute.Properties.Add(new CustomAttributeNamedArgument("Seeds", new CustomAttributeArgument(stringArray,
                    stage.Seeds.Select(g => new CustomAttributeArgument(module.TypeSystem.String, SnapshotStageName(g, seed: true))).ToArray())));
            attributes.Add(attribute);
        }
    }

    // The entry point's description of the app, filled from the assembly attributes once they are written (WriteDescription).
    MethodDefinition? describe;

    // The assembly attributes again, as code that builds a WovenAppDescription: a program started in memory then reads
    // no custom attribute (the runtime's largest start-up cost). Written from the attributes themselves, so the two agree.
    void WriteDescription(MethodDefinition method)
    {
        var il = method.Body.GetILProcessor();
        var attributes = module.Assembly.CustomAttributes;
        var routeFields = messageTypes.Values.Distinct()
            .Select(t => (Name: t.FullName.Replace('/', '+'), Field: t.Fields.FirstOrDefault(f => f.IsStatic && f.Name == runtime.StageRouteFieldName)))
            .Where(t => t.Field is not null)
            .ToDictionary(t => t.Name, t => t.Field!);
        var woven = attributes.First(a => a.Constructor.FullName == runtime.WovenAssemblyConstructor.FullName);
        il.Emit(OpCodes.Ldstr, (string)woven.ConstructorArguments[0].Value);
        il.Emit(OpCodes.Ldstr, (string)woven.ConstructorArguments[1].Value);
        il.Emit(OpCodes.Newobj, runtime.WovenAppDescriptionConstructor);
        foreach (var attribute in attributes)
        {
            var arguments = attribute.ConstructorArguments;
            if (attribute.Constructor.FullName == runtime.WovenGroupConstructor.FullName)
            {
                il.Emit(OpCodes.Dup);
                il.Emit(OpCodes.Ldstr, (string)arguments[0].Value);
                il.Emit(OpCodes.Ldc_I4, (int)arguments[1].Value);
                il.Emit(OpCodes.Ldc_I4, (bool)arguments[2].Value ? 1 : 0);
                il.Emit(OpCodes.Call, runtime.DescribeGroup);
            }
            else if (attribute.Constructor.FullName == runtime.WovenStageConstructor.FullName)
            {
                CustomAttributeArgument? Named(string name) =>
                    attribute.Properties.Where(p => p.Name == name).Select(p => (CustomAttributeArgument?)p.Argument).FirstOrDefault();
                il.Emit(OpCodes.Dup);
                il.Emit(OpCodes.Ldstr, (string)arguments[0].Value);
                il.Emit(OpCodes.Ldstr, (string)arguments[1].Value);
                il.Emit(OpCodes.Ldstr, (string)arguments[2].Value);
                il.Emit(OpCodes.Ldc_I4, (bool)arguments[3].Value ? 1 : 0);
                StringArray(il, (CustomAttributeArgument[])arguments[4].Value);
                il.Emit(OpCodes.Ldc_I4, Named("Kind") is { } kind ? (int)kind.Value : 0);
                StringArray(il, Named("Seeds") is { } seeds ? (CustomAttributeArgument[])seeds.Value : []);
                il.Emit(OpCodes.Call, runtime.DescribeStage);
                // A handler's stage: its route goes into its message type, where the Post stubs read it.
                if (routeFields.TryGetValue((string)arguments[2].Value, out var route)) il.Emit(OpCodes.Stsfld, route);
                else il.Emit(OpCodes.Pop);
            }
        }
        il.Emit(OpCodes.Ret);
        method.Body.OptimizeMacros();
        touched.Add(method);
    }

    void StringArray(ILProcessor il, CustomAttributeArgument[] items)
    {
        il.Emit(OpCodes.Ldc_I4, items.Length);
        il.Emit(OpCodes.Newarr, module.TypeSystem.String);
        for (var i = 0; i < items.Length; i++)
        {
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Ldstr, (string)items[i].Value);
            il.Emit(OpCodes.Stelem_Ref);
        }
    }

    /// <summary>The name of a group's seed or results stage: one no handler can have.</summary>
    public static string SnapshotStageName(Group group, bool seed) => group.Name + (seed ? "#seed" : "#results");
}
