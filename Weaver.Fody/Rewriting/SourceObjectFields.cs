using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;
using Weaving.Fody.Analysis;

namespace Weaving.Fody.Rewriting;

/// <summary>
/// Gives each object the source makes and keeps in a local (<see cref="SourceObject"/>) a static field, before the
/// analysis runs: the source stores the object there too, and reads it from there. Its methods are then bound to the
/// field (ModuleFacts.BoundField), the way a type initializer's object is. <see cref="Undo"/> puts everything back when
/// nothing is cut.
/// </summary>
public sealed class SourceObjectFields(ModuleDefinition module, MethodDefinition? source, IReadOnlyList<SourceObject> objects)
{
    readonly List<(Instruction Instruction, OpCode OpCode, object? Operand)> changed = [];
    readonly List<(MethodBody Body, Instruction Instruction)> inserted = [];
    readonly HashSet<MethodDefinition> touched = [];

    /// <summary>The fields made, one per object.</summary>
    public List<FieldDefinition> Fields { get; } = [];

    public IReadOnlyCollection<MethodDefinition> TouchedMethods => touched;

    public void Apply()
    {
        if (source is null || objects.Count == 0) return;
        // The user's type: for an async Main, the type its state machine is nested in.
        var owner = StackFlow.IsAsyncBody(source) ? source.DeclaringType.DeclaringType : source.DeclaringType;
        var body = source.Body;
        body.SimplifyMacros();
        touched.Add(source);
        var il = body.GetILProcessor();
        foreach (var o in objects)
        {
            var field = new FieldDefinition($"<{o.Name}>object", FieldAttributes.Assembly | FieldAttributes.Static, module.ImportReference(o.Type));
            owner.Fields.Add(field);
            Fields.Add(field);
            // [value] -> [value, value] -> the field keeps one, the local the other.
            Insert(il, body, o.Store, [Instruction.Create(OpCodes.Dup), Instruction.Create(OpCodes.Stsfld, field)], before: true);
            foreach (var load in o.Loads)
            {
                if (o.Hoisted is not null)
                {
                    // ldarg.0; ldfld <x> -> ldarg.0; pop; ldsfld
                    changed.Add((load, load.OpCode, load.Operand));
                    load.OpCode = OpCodes.Pop;
                    load.Operand = null;
                    Insert(il, body, load, [Instruction.Create(OpCodes.Ldsfld, field)], before: false);
                }
                else
                {
                    changed.Add((load, load.OpCode, load.Operand));
                    load.OpCode = OpCodes.Ldsfld;
                    load.Operand = field;
                }
            }
        }
        body.OptimizeMacros();
    }

    public void Undo()
    {
        foreach (var (body, ins) in Enumerable.Reverse(inserted)) body.Instructions.Remove(ins);
        foreach (var (ins, opCode, operand) in Enumerable.Reverse(changed)) { ins.OpCode = opCode; ins.Operand = operand; }
        foreach (var field in Fields) field.DeclaringType.Fields.Remove(field);
        Fields.Clear();
        foreach (var method in touched) method.Body.OptimizeMacros();
        touched.Clear();
    }

    void Insert(ILProcessor il, MethodBody body, Instruction at, List<Instruction> code, bool before)
    {
        if (before)
        {
            changed.Add((at, at.OpCode, at.Operand));
            inserted.AddRange(Splice.InsertBefore(il, at, code).Select(ins => (body, ins)));
            return;
        }
        var after = at;
        foreach (var ins in code)
        {
            il.InsertAfter(after, ins);
            inserted.Add((body, ins));
            after = ins;
        }
    }
}
