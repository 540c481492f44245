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
        if (StackFlow.IsAsyncBody(method) && method.DeclaringType.DeclaringType is { } owner)
        {
            var name = method.DeclaringType.Name;
            var end = name.IndexOf('>');
            if (name.StartsWith("<", StringComparison.Ordinal) && end > 1) return owner.Name + "." + name.Substring(1, end - 1);
        }
        return method.DeclaringType.Name + "." + method.Name;
    }
}
