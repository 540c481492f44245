using Mono.Cecil.Cil;

namespace Weaving.Fody.Rewriting;

/// <summary>
/// Puts code in place of an instruction, or before it, keeping that instruction's identity: branches to it and its
/// sequence point then apply to the new code, as they did to the old.
/// </summary>
public static class Splice
{
    /// <summary>
    /// <paramref name="code"/> replaces <paramref name="at"/>: <paramref name="at"/> becomes its first instruction.
    /// Returns the instructions added after it (to take them out again).
    /// </summary>
    public static List<Instruction> Replace(ILProcessor il, Instruction at, IReadOnlyList<Instruction> code)
    {
        at.OpCode = code[0].OpCode;
        at.Operand = code[0].Operand;
        var added = new List<Instruction>();
        var last = at;
        foreach (var ins in code.Skip(1))
        {
            il.InsertAfter(last, ins);
            added.Add(ins);
            last = ins;
        }
        return added;
    }

    /// <summary><paramref name="code"/> runs before <paramref name="at"/>, which becomes its first instruction.</summary>
    public static List<Instruction> InsertBefore(ILProcessor il, Instruction at, IReadOnlyList<Instruction> code)
    {
        var moved = il.Create(OpCodes.Nop);
        moved.OpCode = at.OpCode;
        moved.Operand = at.Operand;
        return Replace(il, at, code.Append(moved).ToList());
    }
}
