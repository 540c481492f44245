using Mono.Cecil;
using Mono.Cecil.Cil;
using Weaving.Fody.Plan;

namespace Weaving.Fody.Analysis;

/// <summary>Maps an instruction to the user's source line: the nearest visible sequence point at or before it.</summary>
public static class SourceLocator
{
    public static SequencePoint? Find(MethodDefinition method, Instruction? instruction)
    {
        if (!method.HasBody || !method.DebugInformation.HasSequencePoints) return null;
        for (var i = instruction ?? method.Body.Instructions.FirstOrDefault(); i is not null; i = i.Previous)
        {
            var point = method.DebugInformation.GetSequencePoint(i);
            if (point is not null && !point.IsHidden) return point;
        }
        return method.DebugInformation.SequencePoints.FirstOrDefault(p => !p.IsHidden);
    }

    public static Diagnostic Diagnostic(string id, Severity severity, string message, MethodDefinition? method, Instruction? at)
    {
        var point = method is null ? null : Find(method, at);
        return new Diagnostic(id, severity, message, point?.Document.Url, point?.StartLine ?? 0, point);
    }

    /// <summary>"Type.Method" as the user wrote it: an async method's body (MoveNext of "&lt;OnX&gt;d__3") is named OnX.</summary>
    public static string Describe(MethodDefinition method)
    {
        // The state machine of an async method or an iterator ("<Items>d__1"): named after the method it is the body of.
        if (method.DeclaringType.DeclaringType is { } owner && method.DeclaringType.Name is var machine
            && machine.StartsWith("<", StringComparison.Ordinal) && machine.IndexOf('>') is > 1 and var end
            && machine.IndexOf(">d__", StringComparison.Ordinal) == end)
            return owner.Name + "." + machine.Substring(1, end - 1);
        // A lambda ("<Main>b__0_0", in the class of its closure or in "<>c").
        if (method.Name.StartsWith("<", StringComparison.Ordinal) && method.Name.IndexOf('>') is > 1 and var close
            && method.Name.IndexOf(">b__", StringComparison.Ordinal) == close)
        {
            var declaring = method.DeclaringType.Name.StartsWith("<", StringComparison.Ordinal) && method.DeclaringType.DeclaringType is { } outer
                ? outer : method.DeclaringType;
            return $"a lambda in {declaring.Name}.{method.Name.Substring(1, close - 1)}";
        }
        return method.DeclaringType.Name + "." + method.Name;
    }
}
