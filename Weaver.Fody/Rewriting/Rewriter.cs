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
    readonly Dictionary<MethodDefinition, MethodDefinition> postStubs = new();
    readonly Dictionary<Stage, TypeDefinition> messageTypes = new();
    readonly Dictionary<FieldDefinition, (MethodDefinition Get, MethodDefinition Set, MethodDefinition Address)> accessors = new();
    readonly HashSet<MethodDefinition> touched = [];

    /// <summary>Every method the rewriting created or edited: the tests force the JIT over each.</summary>
    public IReadOnlyCollection<MethodDefinition> TouchedMethods => touched;

    public void Apply(string buildHash, byte[] stageMapJson)
    {
        foreach (var stage in plan.Stages) WriteMessageType(stage);
        foreach (var stage in plan.Stages) WritePostStub(stage);
        foreach (var group in plan.Groups.Where(g => g.OwnedFields.Any(f => f.Moves))) WriteStateObject(group);
        RedirectCallSites();
        RedirectFieldAccesses();
        if (plan.Source is not null && plan.Stages.Count > 0) WrapEntryPoint(plan.Source);
        RemoveWeavingAttributes();
        WriteAssemblyAttributes(buildHash);
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

        var fields = handler.Parameters.Select((p, i) =>
        {
            var field = new FieldDefinition(string.IsNullOrEmpty(p.Name) ? "arg" + i : p.Name, FieldAttributes.Public, p.ParameterType);
            type.Fields.Add(field);
            return field;
        }).ToList();

        var constructor = new MethodDefinition(".ctor",
            MethodAttributes.Public | MethodAttributes.HideBySig | MethodAttributes.SpecialName | MethodAttributes.RTSpecialName,
            module.TypeSystem.Void);
        var il = constructor.Body.GetILProcessor();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, runtime.StageMessageConstructor);
        il.Emit(OpCodes.Ret);
        type.Methods.Add(constructor);
        touched.Add(constructor);

        var invoke = new MethodDefinition("Invoke",
            MethodAttributes.Public | MethodAttributes.Virtual | MethodAttributes.HideBySig, module.TypeSystem.Void);
        il = invoke.Body.GetILProcessor();
        foreach (var field in fields)
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldfld, field);
        }
        il.Emit(OpCodes.Call, handler);
        il.Emit(OpCodes.Ret);
        type.Methods.Add(invoke);
        touched.Add(invoke);
        messageTypes[stage] = type;
    }

    void WritePostStub(Stage stage)
    {
        var handler = stage.Handler;
        var type = messageTypes[stage];
        var access = handler.Attributes & MethodAttributes.MemberAccessMask;
        var stub = new MethodDefinition($"<{handler.Name}>Post", access | MethodAttributes.Static | MethodAttributes.HideBySig, module.TypeSystem.Void);
        foreach (var p in handler.Parameters) stub.Parameters.Add(new ParameterDefinition(p.Name, ParameterAttributes.None, p.ParameterType));
        runtime.MarkGenerated(stub);
        var il = stub.Body.GetILProcessor();
        il.Emit(OpCodes.Newobj, type.Methods.First(m => m.IsConstructor));
        for (var i = 0; i < handler.Parameters.Count; i++)
        {
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Ldarg, stub.Parameters[i]);
            il.Emit(OpCodes.Stfld, type.Fields[i]);
        }
        il.Emit(OpCodes.Call, runtime.Post);
        il.Emit(OpCodes.Ret);
        stub.Body.OptimizeMacros();
        handler.DeclaringType.Methods.Add(stub);
        postStubs[handler] = stub;
        touched.Add(stub);
    }

    void WriteStateObject(Group group)
    {
        var state = new TypeDefinition("", $"<{group.Name.Replace('.', '_')}>State",
            TypeAttributes.NotPublic | TypeAttributes.Sealed | TypeAttributes.Class | TypeAttributes.BeforeFieldInit,
            module.TypeSystem.Object);
        runtime.MarkGenerated(state);
        module.Types.Add(state);

        var constructor = new MethodDefinition(".ctor",
            MethodAttributes.Public | MethodAttributes.HideBySig | MethodAttributes.SpecialName | MethodAttributes.RTSpecialName,
            module.TypeSystem.Void);
        var il = constructor.Body.GetILProcessor();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, runtime.ObjectConstructor);
        il.Emit(OpCodes.Ret);
        state.Methods.Add(constructor);

        var instance = new FieldDefinition("Instance", FieldAttributes.Assembly | FieldAttributes.Static | FieldAttributes.InitOnly, state);
        state.Fields.Add(instance);
        var initializer = new MethodDefinition(".cctor",
            MethodAttributes.Private | MethodAttributes.Static | MethodAttributes.HideBySig | MethodAttributes.SpecialName | MethodAttributes.RTSpecialName,
            module.TypeSystem.Void);
        il = initializer.Body.GetILProcessor();
        il.Emit(OpCodes.Newobj, constructor);
        il.Emit(OpCodes.Stsfld, instance);
        il.Emit(OpCodes.Ret);
        state.Methods.Add(initializer);
        touched.Add(constructor);
        touched.Add(initializer);

        foreach (var fieldPlan in group.OwnedFields.Where(f => f.Moves))
        {
            var original = fieldPlan.Field;
            var owner = original.DeclaringType;
            var name = original.DeclaringType.Name + "_" + original.Name;
            var slot = new FieldDefinition(name, FieldAttributes.Assembly, original.FieldType);
            state.Fields.Add(slot);

            // Accessors live in the field's own type: calling them runs that type's initializer, as the field access did.
            var get = Accessor(owner, $"<{original.Name}>get", original.FieldType, [], il2 =>
            {
                il2.Emit(OpCodes.Ldsfld, instance);
                il2.Emit(OpCodes.Ldfld, slot);
            });
            var set = Accessor(owner, $"<{original.Name}>set", module.TypeSystem.Void, [original.FieldType], il2 =>
            {
                il2.Emit(OpCodes.Ldsfld, instance);
                il2.Emit(OpCodes.Ldarg_0);
                il2.Emit(OpCodes.Stfld, slot);
            });
            var address = Accessor(owner, $"<{original.Name}>address", new ByReferenceType(original.FieldType), [], il2 =>
            {
                il2.Emit(OpCodes.Ldsfld, instance);
                il2.Emit(OpCodes.Ldflda, slot);
            });
            accessors[original] = (get, set, address);
            // Without beforefieldinit the type initializer runs before the first call of any of its methods,
            // so the state is initialised before any stage reads it.
            owner.IsBeforeFieldInit = false;
        }
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
            site.Instruction.Operand = postStubs[site.Callee];
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
        // Start first; branches to the old first instruction keep skipping the start, which is what they meant.
        il.InsertBefore(first, il.Create(OpCodes.Ldtoken, main.DeclaringType));
        il.InsertBefore(first, il.Create(OpCodes.Call, runtime.GetTypeFromHandle));
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

    void RemoveWeavingAttributes()
    {
        foreach (var method in module.GetTypes().SelectMany(t => t.Methods))
            for (var i = method.CustomAttributes.Count - 1; i >= 0; i--)
            {
                var type = method.CustomAttributes[i].AttributeType;
                if (type.Namespace == "Weaving" && type.Name is "StageAttribute" or "InlineAttribute")
                    method.CustomAttributes.RemoveAt(i);
            }
    }

    void WriteAssemblyAttributes(string buildHash)
    {
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
        foreach (var stage in plan.Stages)
        {
            var attribute = new CustomAttribute(runtime.WovenStageConstructor);
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, stage.Name));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, stage.Group.Name));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(runtime.SystemType, messageTypes[stage]));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.Boolean, stage.CopyArguments));
            attribute.ConstructorArguments.Add(new CustomAttributeArgument(stringArray,
                stage.BarrierAfter.Select(b => new CustomAttributeArgument(module.TypeSystem.String, b.Name)).ToArray()));
            attributes.Add(attribute);
        }
    }
}
