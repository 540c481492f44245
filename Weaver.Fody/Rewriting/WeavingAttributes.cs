using Mono.Cecil;

namespace Weaving.Fody.Rewriting;

/// <summary>
/// [Stage] and [Inline] are read by the weaver only: they are removed from the woven assembly, and so is the reference
/// to Weaver.dll when nothing else in the assembly uses it.
/// </summary>
public static class WeavingAttributes
{
    const string RuntimeAssembly = "Weaver";

    /// <summary>Removes every [Stage] and [Inline]; returns how many.</summary>
    public static int Remove(ModuleDefinition module)
    {
        var removed = 0;
        foreach (var method in module.GetTypes().SelectMany(t => t.Methods))
            for (var i = method.CustomAttributes.Count - 1; i >= 0; i--)
            {
                var type = method.CustomAttributes[i].AttributeType;
                if (type.Namespace == "Weaving" && type.Name is "StageAttribute" or "InlineAttribute")
                {
                    method.CustomAttributes.RemoveAt(i);
                    removed++;
                }
            }
        return removed;
    }

    /// <summary>Drops the reference to Weaver.dll when no type or member reference of the module points into it.</summary>
    public static bool RemoveUnusedRuntimeReference(ModuleDefinition module)
    {
        var reference = module.AssemblyReferences.FirstOrDefault(r => r.Name == RuntimeAssembly);
        if (reference is null) return false;
        // The type reference table that Cecil writes holds exactly the types still used: write it out and look.
        using (var image = new MemoryStream())
        {
            module.Write(image);
            image.Position = 0;
            using var written = ModuleDefinition.ReadModule(image);
            if (written.GetTypeReferences().Any(t => Scope(t) is AssemblyNameReference a && a.Name == RuntimeAssembly)) return false;
        }
        module.AssemblyReferences.Remove(reference);
        return true;
    }

    static IMetadataScope? Scope(TypeReference type)
    {
        while (type.DeclaringType is not null) type = type.DeclaringType;
        return type.Scope;
    }
}
