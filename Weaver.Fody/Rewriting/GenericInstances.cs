using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;

namespace Weaving.Fody.Rewriting;

/// <summary>
/// Gives each instantiation of a generic handler that the assembly calls (<c>OnItem&lt;int&gt;</c>, <c>OnItem&lt;string&gt;</c>) a
/// method of its own, before the analysis (docs/design.md §1.3): a copy of the generic method with its type arguments
/// put in, which the calls then make. Each copy is an ordinary handler with its own closed message type, so a host never
/// reads a type argument from the wire. Copies of copies are made as their calls are met. <see cref="Undo"/> puts
/// every call back and removes the copies when nothing is cut.
/// </summary>
public sealed class GenericInstances(ModuleDefinition module)
{
    readonly Dictionary<string, MethodDefinition> copies = new(StringComparer.Ordinal);
    readonly List<(Instruction Instruction, object Operand)> redirected = [];
    readonly HashSet<MethodDefinition> touched = [];

    public IReadOnlyCollection<MethodDefinition> TouchedMethods => touched;

    public void Apply()
    {
        var work = new Queue<MethodDefinition>(module.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody && !m.HasGenericParameters));
        while (work.Count > 0)
        {
            var method = work.Dequeue();
            foreach (var ins in method.Body.Instructions)
            {
                if (ins.OpCode.Code != Code.Call || ins.Operand is not GenericInstanceMethod call || !IsCandidate(call)) continue;
                var key = call.FullName;
                if (!copies.TryGetValue(key, out var copy))
                {
                    copy = Specialize(call);
                    copies[key] = copy;
                    work.Enqueue(copy);
                }
                redirected.Add((ins, ins.Operand));
                ins.Operand = copy;
                touched.Add(method);
            }
        }
    }

    public void Undo()
    {
        foreach (var (ins, operand) in Enumerable.Reverse(redirected)) ins.Operand = operand;
        foreach (var copy in copies.Values) copy.DeclaringType.Methods.Remove(copy);
        copies.Clear();
        touched.Clear();
    }

    // A static void method of this module with a body, in a non-generic type, not async, called with closed type arguments.
    bool IsCandidate(GenericInstanceMethod call)
    {
        var method = call.ElementMethod.Resolve();
        return method is { IsStatic: true, HasBody: true } && method.Module == module && !method.DeclaringType.HasGenericParameters
               && method.ReturnType.MetadataType == MetadataType.Void
               && !method.CustomAttributes.Any(a => a.AttributeType.Name is "AsyncStateMachineAttribute" or "IteratorStateMachineAttribute")
               && call.GenericArguments.All(IsClosed);
    }

    static bool IsClosed(TypeReference type) => type switch
    {
        GenericParameter => false,
        GenericInstanceType g => g.GenericArguments.All(IsClosed),
        TypeSpecification s => IsClosed(s.ElementType),
        _ => true,
    };

    MethodDefinition Specialize(GenericInstanceMethod call)
    {
        var generic = call.ElementMethod.Resolve();
        var arguments = call.GenericArguments.ToList();
        TypeReference Sub(TypeReference type) => Substitute(type, generic, arguments);

        var name = $"{generic.Name}_{string.Join("_", arguments.Select(a => a.Name.Replace("`", "").Replace("[]", "Array")))}";
        for (var i = 2; generic.DeclaringType.Methods.Any(m => m.Name == name); i++) name = $"{generic.Name}_{i}";
        var copy = new MethodDefinition(name, generic.Attributes, Sub(generic.ReturnType)) { ImplAttributes = generic.ImplAttributes };
        foreach (var p in generic.Parameters) copy.Parameters.Add(new ParameterDefinition(p.Name, p.Attributes, Sub(p.ParameterType)));
        var body = copy.Body;
        body.InitLocals = generic.Body.InitLocals;
        foreach (var v in generic.Body.Variables) body.Variables.Add(new VariableDefinition(Sub(v.VariableType)));

        // Same instructions, same sizes: short branches reach as far in the copy as in the original.
        var map = new Dictionary<Instruction, Instruction>();
        foreach (var ins in generic.Body.Instructions)
        {
            var made = Instruction.Create(OpCodes.Nop);
            made.OpCode = ins.OpCode;
            made.Operand = ins.Operand switch
            {
                TypeReference t => Sub(t),
                MethodReference m => SubMethod(m, generic, arguments),
                FieldReference f => SubField(f, generic, arguments),
                ParameterDefinition p => copy.Parameters[p.Index],
                VariableDefinition v => body.Variables[v.Index],
                _ => ins.Operand,
            };
            map[ins] = made;
            body.Instructions.Add(made);
        }
        foreach (var made in body.Instructions)
            made.Operand = made.Operand switch
            {
                Instruction target => map[target],
                Instruction[] targets => targets.Select(t => map[t]).ToArray(),
                _ => made.Operand,
            };
        foreach (var h in generic.Body.ExceptionHandlers)
            body.ExceptionHandlers.Add(new ExceptionHandler(h.HandlerType)
            {
                TryStart = map[h.TryStart], TryEnd = h.TryEnd is null ? null : map[h.TryEnd],
                HandlerStart = map[h.HandlerStart], HandlerEnd = h.HandlerEnd is null ? null : map[h.HandlerEnd],
                FilterStart = h.FilterStart is null ? null : map[h.FilterStart],
                CatchType = h.CatchType is null ? null : Sub(h.CatchType),
            });
        // The copy's lines are the generic method's: diagnostics and stack traces point at the user's code.
        foreach (var point in generic.DebugInformation.SequencePoints)
            if (map.TryGetValue(generic.Body.Instructions.FirstOrDefault(i => i.Offset == point.Offset) ?? generic.Body.Instructions[0], out var at))
                copy.DebugInformation.SequencePoints.Add(new SequencePoint(at, point.Document)
                {
                    StartLine = point.StartLine, StartColumn = point.StartColumn, EndLine = point.EndLine, EndColumn = point.EndColumn,
                });
        generic.DeclaringType.Methods.Add(copy);
        touched.Add(copy);
        return copy;
    }

    TypeReference Substitute(TypeReference type, MethodDefinition generic, List<TypeReference> arguments)
    {
        switch (type)
        {
            case GenericParameter p when p.Owner == generic || p.Type == GenericParameterType.Method:
                return module.ImportReference(arguments[p.Position]);
            case GenericInstanceType g:
            {
                var made = new GenericInstanceType(g.ElementType);
                foreach (var a in g.GenericArguments) made.GenericArguments.Add(Substitute(a, generic, arguments));
                return made;
            }
            case ArrayType a:
                return new ArrayType(Substitute(a.ElementType, generic, arguments), a.Rank);
            case ByReferenceType r:
                return new ByReferenceType(Substitute(r.ElementType, generic, arguments));
            case PointerType p:
                return new PointerType(Substitute(p.ElementType, generic, arguments));
            default:
                return type;
        }
    }

    MethodReference SubMethod(MethodReference method, MethodDefinition generic, List<TypeReference> arguments)
    {
        if (method is GenericInstanceMethod instance)
        {
            var made = new GenericInstanceMethod(SubMethod(instance.ElementMethod, generic, arguments));
            foreach (var a in instance.GenericArguments) made.GenericArguments.Add(Substitute(a, generic, arguments));
            return made;
        }
        var declaring = Substitute(method.DeclaringType, generic, arguments);
        if (declaring == method.DeclaringType) return method;
        // A member of a generic type instantiated with the method's type parameter: the same member of the closed type.
        var copy = new MethodReference(method.Name, method.ReturnType, declaring)
        {
            HasThis = method.HasThis, ExplicitThis = method.ExplicitThis, CallingConvention = method.CallingConvention,
        };
        foreach (var p in method.Parameters) copy.Parameters.Add(new ParameterDefinition(p.ParameterType));
        foreach (var g in method.GenericParameters) copy.GenericParameters.Add(new GenericParameter(g.Name, copy));
        return copy;
    }

    FieldReference SubField(FieldReference field, MethodDefinition generic, List<TypeReference> arguments)
    {
        var declaring = Substitute(field.DeclaringType, generic, arguments);
        return declaring == field.DeclaringType ? field : new FieldReference(field.Name, field.FieldType, declaring);
    }
}
