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

    public static string Describe(MethodDefinition method) => method.DeclaringType.Name + "." + method.Name;
}
