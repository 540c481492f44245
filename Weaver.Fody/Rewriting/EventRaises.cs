using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;
using Weaving.Fody.Analysis;

namespace Weaving.Fody.Rewriting;

/// <summary>
/// Rewrites each raise of a resolved event (docs/design.md §1.3) into a call to each subscriber, in subscription
/// order, before the analysis runs: those calls are then cut, or not, by the same rule as any other call. The event's
/// field is no longer read: where the raise loaded it, it gets a delegate that is never invoked, so that the null
/// checks around the raise still pass in a process where the source never subscribed (a group's host). When nothing is
/// cut, <see cref="Undo"/> puts every instruction back: a program with nothing to cut is left as it was.
/// </summary>
public sealed class EventRaises(ModuleDefinition module, IReadOnlyList<ResolvedEvent> events)
{
    readonly List<(Instruction Instruction, OpCode OpCode, object? Operand)> changed = [];
    readonly List<(MethodBody Body, Instruction Instruction)> inserted = [];
    readonly List<(MethodBody Body, VariableDefinition Variable)> variables = [];
    readonly List<MethodDefinition> sentinels = [];
    readonly List<(IMemberDefinition Member, object Attributes)> changedAccess = [];
    readonly HashSet<MethodDefinition> touched = [];

    public IReadOnlyCollection<MethodDefinition> TouchedMethods => touched;

    public void Apply()
    {
        foreach (var ev in events)
        {
            var parameters = ParameterTypes(ev);
            var sentinel = Sentinel(ev, parameters);
            foreach (var (method, load) in ev.Loads) ReplaceLoad(method, load, ev, sentinel);
            foreach (var (method, raise) in ev.Raises) ReplaceRaise(method, raise, ev, parameters);
        }
        foreach (var method in touched) method.Body.OptimizeMacros();
    }

    public void Undo()
    {
        foreach (var (body, ins) in Enumerable.Reverse(inserted)) body.Instructions.Remove(ins);
        foreach (var (ins, opCode, operand) in Enumerable.Reverse(changed)) { ins.OpCode = opCode; ins.Operand = operand; }
        foreach (var (body, variable) in variables) body.Variables.Remove(variable);
        foreach (var sentinel in sentinels) sentinel.DeclaringType.Methods.Remove(sentinel);
        foreach (var (member, attributes) in Enumerable.Reverse(changedAccess))
            switch (member)
            {
                case MethodDefinition m: m.Attributes = (MethodAttributes)attributes; break;
                case FieldDefinition f: f.Attributes = (FieldAttributes)attributes; break;
                case TypeDefinition t: t.Attributes = (TypeAttributes)attributes; break;
            }
        foreach (var method in touched.Where(m => m.DeclaringType is not null)) method.Body.OptimizeMacros();
        touched.Clear();
    }

    // The delegate's parameter types as this event's field closes them (Action<string, double>: string, double).
    List<TypeReference> ParameterTypes(ResolvedEvent ev)
    {
        var fieldType = ev.Field.FieldType;
        return ev.Invoke.Parameters.Select(p => p.ParameterType is GenericParameter g && fieldType is GenericInstanceType instance
            ? instance.GenericArguments[g.Position]
            : p.ParameterType).Select(t => module.ImportReference(t)).ToList();
    }

    // A method with the delegate's signature that does nothing: the stand-in value of the field at a raise.
    MethodDefinition Sentinel(ResolvedEvent ev, List<TypeReference> parameters)
    {
        var method = new MethodDefinition($"<{ev.Field.Name}>raised", MethodAttributes.Assembly | MethodAttributes.Static | MethodAttributes.HideBySig,
            module.TypeSystem.Void);
        foreach (var p in parameters) method.Parameters.Add(new ParameterDefinition(p));
        method.Body.GetILProcessor().Emit(OpCodes.Ret);
        ev.Field.DeclaringType.Methods.Add(method);
        sentinels.Add(method);
        touched.Add(method);
        return method;
    }

    void ReplaceLoad(MethodDefinition method, Instruction load, ResolvedEvent ev, MethodDefinition sentinel)
    {
        var delegateType = module.ImportReference(ev.Field.FieldType);
        var constructor = new MethodReference(".ctor", module.TypeSystem.Void, delegateType) { HasThis = true };
        constructor.Parameters.Add(new ParameterDefinition(module.TypeSystem.Object));
        constructor.Parameters.Add(new ParameterDefinition(module.TypeSystem.IntPtr));
        var code = new List<Instruction>();
        if (load.OpCode.Code == Code.Ldfld) code.Add(Instruction.Create(OpCodes.Pop)); // the object the field was read from
        code.Add(Instruction.Create(OpCodes.Ldnull));
        code.Add(Instruction.Create(OpCodes.Ldftn, sentinel));
        code.Add(Instruction.Create(OpCodes.Newobj, constructor));
        Replace(method, load, code);
    }

    // [delegate, a1..an] -> keep the arguments, drop the delegate, call each subscriber with them.
    void ReplaceRaise(MethodDefinition method, Instruction raise, ResolvedEvent ev, List<TypeReference> parameters)
    {
        var body = method.Body;
        var temps = parameters.Select(p => new VariableDefinition(p)).ToList();
        foreach (var t in temps)
        {
            body.Variables.Add(t);
            variables.Add((body, t));
        }
        var code = new List<Instruction>();
        for (var i = temps.Count - 1; i >= 0; i--) code.Add(Instruction.Create(OpCodes.Stloc, temps[i]));
        code.Add(Instruction.Create(OpCodes.Pop));
        foreach (var subscriber in ev.Subscribers)
        {
            // The raise calls what the delegate called: the assembly may now call it from elsewhere.
            VisibleInAssembly(subscriber.Method);
            if (subscriber.Target is { } target)
            {
                VisibleInAssembly(target);
                code.Add(Instruction.Create(OpCodes.Ldsfld, module.ImportReference(target)));
            }
            foreach (var t in temps) code.Add(Instruction.Create(OpCodes.Ldloc, t));
            var callee = module.ImportReference(subscriber.Method);
            code.Add(Instruction.Create(subscriber.Method.IsStatic ? OpCodes.Call : OpCodes.Callvirt, callee));
        }
        Replace(method, raise, code);
    }

    void VisibleInAssembly(IMemberDefinition member)
    {
        switch (member)
        {
            case MethodDefinition m when m.IsPrivate || m.IsFamily || m.IsFamilyAndAssembly:
                changedAccess.Add((m, m.Attributes));
                m.IsAssembly = true;
                break;
            case FieldDefinition f when f.IsPrivate || f.IsFamily || f.IsFamilyAndAssembly:
                changedAccess.Add((f, f.Attributes));
                f.IsAssembly = true;
                break;
        }
        for (var t = member.DeclaringType; t is not null && t.IsNested; t = t.DeclaringType)
            if (t.IsNestedPrivate || t.IsNestedFamily || t.IsNestedFamilyAndAssembly)
            {
                changedAccess.Add((t, t.Attributes));
                t.IsNestedAssembly = true;
            }
    }

    // The instruction keeps its identity (branches to it, its sequence point) and becomes the first of the new code.
    void Replace(MethodDefinition method, Instruction at, List<Instruction> code)
    {
        var body = method.Body;
        if (touched.Add(method)) body.SimplifyMacros();
        changed.Add((at, at.OpCode, at.Operand));
        inserted.AddRange(Splice.Replace(body.GetILProcessor(), at, code).Select(ins => (body, ins)));
        touched.Add(method);
    }
}
