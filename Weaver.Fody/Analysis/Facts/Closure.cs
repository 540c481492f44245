using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Weaving.Fody.Analysis;

/// <summary>Methods reachable from a method through calls, following every call or only the ones kept synchronous.</summary>
public sealed class Closure(ModuleFacts facts)
{
    readonly Dictionary<MethodDefinition, HashSet<MethodDefinition>> everyCall = new();

    /// <summary>Everything the method may run, cut or not: the conservative footprint of a callee.</summary>
    public HashSet<MethodDefinition> OfEveryCall(MethodDefinition root)
    {
        if (everyCall.TryGetValue(root, out var known)) return known;
        var result = Walk(root, _ => true);
        everyCall[root] = result;
        return result;
    }

    /// <summary>What a stage runs synchronously: its handler and every callee whose call site is not cut.</summary>
    public HashSet<MethodDefinition> OfSynchronousCalls(MethodDefinition root, Func<Instruction, bool> isCut) =>
        Walk(root, call => !isCut(call));

    HashSet<MethodDefinition> Walk(MethodDefinition root, Func<Instruction, bool> follow)
    {
        var seen = new HashSet<MethodDefinition> { root };
        var work = new Stack<MethodDefinition>();
        work.Push(root);
        while (work.Count > 0)
        {
            foreach (var (at, callee) in facts.Get(work.Pop()).Calls)
            {
                // A type initializer is initialisation, not a stage's work.
                if (callee.IsConstructor && callee.IsStatic) continue;
                if (!follow(at)) continue;
                if (seen.Add(callee)) work.Push(callee);
            }
        }
        return seen;
    }

    /// <summary>Fields read and written by a set of methods.</summary>
    public (HashSet<FieldDefinition> Reads, HashSet<FieldDefinition> Writes) Footprint(IEnumerable<MethodDefinition> methods)
    {
        var reads = new HashSet<FieldDefinition>();
        var writes = new HashSet<FieldDefinition>();
        foreach (var method in methods)
            foreach (var access in facts.Get(method).Accesses)
                (access.Write ? writes : reads).Add(access.Field);
        return (reads, writes);
    }

    /// <summary>Whether any of the methods writes to (or reads from) the console.</summary>
    public bool UsesConsole(IEnumerable<MethodDefinition> methods) => methods.Any(m => facts.Get(m).UsesConsole);
}
