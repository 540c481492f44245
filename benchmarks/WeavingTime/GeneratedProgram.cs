using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Weaving.Benchmarks.WeavingTime;

/// <summary>
/// Writes an event-loop program of a given size with Mono.Cecil, for the weaver to cut: <c>Main</c> posts to the heads
/// of <c>handlers / 10</c> chains of ten handlers each; every handler calls a short chain of helpers synchronously and
/// posts to the next handler of its chain; the last one of a chain adds into a static counter of its own (owned state).
/// The rest of the methods are those helpers. Types hold 100 methods each.
/// </summary>
public static class GeneratedProgram
{
    const int ChainLength = 10;
    const int HelperDepth = 3;
    const int MethodsPerType = 100;

    public static void Write(string path, int methods, int handlers, IAssemblyResolver resolver)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        var assembly = AssemblyDefinition.CreateAssembly(new AssemblyNameDefinition(name, new Version(1, 0)), name,
            new ModuleParameters { Kind = ModuleKind.Console, AssemblyResolver = resolver });
        var module = assembly.MainModule;
        // Before the type system is first used: it picks the core library among the references.
        module.AssemblyReferences.Add(new AssemblyNameReference("System.Runtime", typeof(object).Assembly.GetName().Version)
        {
            PublicKeyToken = [0xb0, 0x3f, 0x5f, 0x7f, 0x11, 0xd5, 0x0a, 0x3a],
        });
        var int32 = module.TypeSystem.Int32;
        var @void = module.TypeSystem.Void;

        var types = new List<TypeDefinition>();
        TypeDefinition NextType()
        {
            var type = new TypeDefinition("Generated", "T" + types.Count,
                TypeAttributes.Class | TypeAttributes.Abstract | TypeAttributes.Sealed | TypeAttributes.NotPublic, module.TypeSystem.Object);
            module.Types.Add(type);
            types.Add(type);
            return type;
        }
        var current = NextType();
        MethodDefinition Add(MethodDefinition method)
        {
            if (current.Methods.Count >= MethodsPerType) current = NextType();
            current.Methods.Add(method);
            return method;
        }

        // Helpers: chains of HelperDepth, each `x * 31 + i`, calling the next one.
        var helperCount = Math.Max(0, methods - handlers - 1);
        var helpers = new MethodDefinition[helperCount];
        for (var i = helperCount - 1; i >= 0; i--)
        {
            var helper = new MethodDefinition("Helper" + i, MethodAttributes.Static | MethodAttributes.Assembly | MethodAttributes.HideBySig, int32);
            helper.Parameters.Add(new ParameterDefinition("x", ParameterAttributes.None, int32));
            var il = helper.Body.GetILProcessor();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldc_I4, 31);
            il.Emit(OpCodes.Mul);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Add);
            if ((i + 1) % HelperDepth != 0 && i + 1 < helperCount) il.Emit(OpCodes.Call, helpers[i + 1]);
            il.Emit(OpCodes.Ret);
            helpers[i] = Add(helper);
        }

        // Handlers, from the end of each chain back to its head.
        var chains = (handlers + ChainLength - 1) / ChainLength;
        var heads = new MethodDefinition[chains];
        var made = 0;
        for (var c = 0; c < chains; c++)
        {
            var counter = new FieldDefinition("counter" + c, FieldAttributes.Static | FieldAttributes.Private, int32);
            current.Fields.Add(counter);
            MethodDefinition? next = null;
            var length = Math.Min(ChainLength, handlers - c * ChainLength);
            for (var j = length - 1; j >= 0; j--, made++)
            {
                var handler = new MethodDefinition($"On{c}_{j}", MethodAttributes.Static | MethodAttributes.Assembly | MethodAttributes.HideBySig, @void);
                handler.Parameters.Add(new ParameterDefinition("x", ParameterAttributes.None, int32));
                var il = handler.Body.GetILProcessor();
                il.Emit(OpCodes.Ldarg_0);
                if (helperCount > 0) il.Emit(OpCodes.Call, helpers[made * HelperDepth % helperCount / HelperDepth * HelperDepth]);
                if (next is not null)
                    il.Emit(OpCodes.Call, next);          // a tail call: a continuation
                else
                {
                    il.Emit(OpCodes.Ldsfld, counter);     // the chain's own state
                    il.Emit(OpCodes.Add);
                    il.Emit(OpCodes.Stsfld, counter);
                }
                il.Emit(OpCodes.Ret);
                next = Add(handler);
            }
            heads[c] = next!;
        }

        var main = new MethodDefinition("Main", MethodAttributes.Static | MethodAttributes.Private | MethodAttributes.HideBySig, @void);
        main.Parameters.Add(new ParameterDefinition("args", ParameterAttributes.None, new ArrayType(module.TypeSystem.String)));
        var body = main.Body.GetILProcessor();
        for (var c = 0; c < chains; c++)
        {
            body.Emit(OpCodes.Ldc_I4, c);
            body.Emit(OpCodes.Call, heads[c]);
        }
        body.Emit(OpCodes.Ret);
        var program = new TypeDefinition("Generated", "Program",
            TypeAttributes.Class | TypeAttributes.Abstract | TypeAttributes.Sealed | TypeAttributes.NotPublic, module.TypeSystem.Object);
        program.Methods.Add(main);
        module.Types.Add(program);
        module.EntryPoint = main;
        assembly.Write(path);
    }
}
