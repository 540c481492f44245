using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Weaving.Fody.Analysis;

/// <summary>
/// An object the source makes once, before anything else can see it, and keeps in a local (or, in an async Main, in a
/// local its state machine keeps): <c>var detector = new Detector();</c>. It is given a static field of its own
/// (docs/design.md §1.3), so that its methods are instance handlers bound to that field, like those of an object a type
/// initializer makes; in another process it is made from what the source set up (a seed of its fields).
/// </summary>
public sealed class SourceObject(TypeDefinition type, string name, Instruction store, VariableDefinition? local, FieldDefinition? hoisted)
{
    public TypeDefinition Type { get; } = type;
    /// <summary>The local's name in the source (its debug name), for the field's name.</summary>
    public string Name { get; } = name;
    /// <summary>Where the source stores the new object.</summary>
    public Instruction Store { get; } = store;
    /// <summary>The local it is kept in, or null when an async Main keeps it in its state machine.</summary>
    public VariableDefinition? Local { get; } = local;
    /// <summary>The state machine's field that keeps it (an async Main), or null.</summary>
    public FieldDefinition? Hoisted { get; } = hoisted;
    /// <summary>Where the source reads it back.</summary>
    public List<Instruction> Loads { get; } = [];
}

/// <summary>Finds the objects of <see cref="SourceObject"/> in the source's code.</summary>
public static class SourceObjects
{
    public static List<SourceObject> Find(ModuleDefinition module, MethodDefinition? source)
    {
        var found = new List<SourceObject>();
        if (source is not { HasBody: true }) return found;
        var body = source.Body;
        var asyncBody = StackFlow.IsAsyncBody(source);
        // Stores of a new object of a class of this module into a local, or into a field of the state machine.
        foreach (var store in body.Instructions)
        {
            var local = store.OpCode.Code is Code.Stloc or Code.Stloc_S or Code.Stloc_0 or Code.Stloc_1 or Code.Stloc_2 or Code.Stloc_3
                ? body.Variables[StackFlow.LocalIndex(store)] : null;
            var hoisted = asyncBody && store.OpCode.Code == Code.Stfld && (store.Operand as FieldReference)?.Resolve() is { } f
                          && f.DeclaringType == source.DeclaringType && !f.Name.StartsWith("<>", StringComparison.Ordinal) ? f : null;
            if (local is null && hoisted is null) continue;
            if (store.Previous is not { OpCode.Code: Code.Newobj } made || made.Operand is not MethodReference constructor) continue;
            if (constructor.DeclaringType.Resolve() is not { IsClass: true, IsValueType: false, IsAbstract: false, HasGenericParameters: false } type
                || type.Module != module || constructor.DeclaringType.IsGenericInstance) continue;
            if (local is not null && (local.VariableType.Resolve() != type)) continue;

            var uses = body.Instructions.Where(i => local is not null ? Uses(i, local.Index) : Uses(i, hoisted!)).ToList();
            // An async Main clears the locals its state machine kept when it ends: that store of null is no other object.
            var cleared = uses.Where(i => i != store && i.OpCode.Code == Code.Stfld && i.Previous?.OpCode.Code == Code.Ldnull
                                          && !ContinuationRules.After(source, i).Any(uses.Contains)).ToList();
            if (uses.Count(IsStore) != 1 + cleared.Count || uses.Any(IsAddress)) continue;
            uses = uses.Except(cleared).ToList();
            // Once, before anything reads it, on every run of the source.
            if (ContinuationRules.After(source, store).Contains(store) || ContinuationRules.Avoidable(source, store)) continue;
            var before = ContinuationRules.Before(source, store);
            var loads = uses.Where(i => !IsStore(i)).ToList();
            if (loads.Any(before.Contains)) continue;
            // Worth it only when the object has methods that could be handlers, or events.
            if (!type.Methods.Any(m => !m.IsStatic && !m.IsConstructor && m.HasBody && !m.IsSpecialName) && !type.HasEvents) continue;

            var name = local is not null
                ? source.DebugInformation.TryGetName(local, out var n) ? n : "local" + local.Index
                : hoisted!.Name.StartsWith("<", StringComparison.Ordinal) ? hoisted.Name.Substring(1, Math.Max(0, hoisted.Name.IndexOf('>') - 1)) : hoisted.Name;
            var entry = new SourceObject(type, name, store, local, hoisted);
            entry.Loads.AddRange(loads);
            found.Add(entry);
        }
        return found;
    }

    static bool Uses(Instruction ins, int local) =>
        ins.OpCode.Code is Code.Stloc or Code.Stloc_S or Code.Stloc_0 or Code.Stloc_1 or Code.Stloc_2 or Code.Stloc_3
            or Code.Ldloc or Code.Ldloc_S or Code.Ldloc_0 or Code.Ldloc_1 or Code.Ldloc_2 or Code.Ldloc_3 or Code.Ldloca or Code.Ldloca_S
        && StackFlow.LocalIndex(ins) == local;

    static bool Uses(Instruction ins, FieldDefinition field) =>
        ins.OpCode.Code is Code.Stfld or Code.Ldfld or Code.Ldflda && (ins.Operand as FieldReference)?.Resolve() == field;

    static bool IsStore(Instruction ins) => ins.OpCode.Code is Code.Stfld or Code.Stloc or Code.Stloc_S or Code.Stloc_0 or Code.Stloc_1 or Code.Stloc_2 or Code.Stloc_3;

    static bool IsAddress(Instruction ins) => ins.OpCode.Code is Code.Ldloca or Code.Ldloca_S or Code.Ldflda;
}
