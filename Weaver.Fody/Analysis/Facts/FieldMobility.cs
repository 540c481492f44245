using Mono.Cecil;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Whether a static field can move into a state object: no code outside the woven assembly can see it, its type can be
/// named there, and it has one storage location (a static field of a generic type has one per instantiation).
/// </summary>
public static class FieldMobility
{
    public static bool CanMove(FieldDefinition field) => WhyNotMovable(field) is null;

    /// <summary>Null when the field can move, else why not, for the user.</summary>
    public static string? WhyNotMovable(FieldDefinition field)
    {
        if (field.IsPublic && IsVisibleOutside(field.DeclaringType)) return "it is public, so other assemblies may use it";
        for (var t = field.DeclaringType; t is not null; t = t.DeclaringType)
            if (t.HasGenericParameters) return $"{t.Name} is generic, so the field has one copy per type argument";
        if (field.FieldType is RequiredModifierType or OptionalModifierType) return "it is volatile";
        if (field.CustomAttributes.Any(a => a.AttributeType.Name == "ThreadStaticAttribute")) return "it is [ThreadStatic]";
        if (field.IsLiteral || field.HasFieldRVA) return "it is compile-time data";
        return IsNameableAnywhere(field.FieldType) ? null : $"its type is private to {field.DeclaringType.Name}";
    }

    static bool IsVisibleOutside(TypeDefinition type) =>
        type.IsNested ? (type.IsNestedPublic || type.IsNestedFamily || type.IsNestedFamilyOrAssembly) && IsVisibleOutside(type.DeclaringType) : type.IsPublic;

    static bool IsNameableAnywhere(TypeReference type)
    {
        if (type is GenericInstanceType g && !g.GenericArguments.All(IsNameableAnywhere)) return false;
        if (type is TypeSpecification spec) return IsNameableAnywhere(spec.ElementType);
        if (type.IsGenericParameter) return false;
        var def = type.Resolve();
        if (def is null) return false;
        for (var t = def; t.IsNested; t = t.DeclaringType)
            if (!(t.IsNestedPublic || t.IsNestedAssembly || t.IsNestedFamilyOrAssembly)) return false;
        return true;
    }
}
