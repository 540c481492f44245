using Mono.Cecil;

namespace Weaving.Fody.Analysis;

/// <summary>Which argument types can travel in a message, and which are immutable (never need copying or ownership).</summary>
public sealed class TypeRules
{
    static readonly HashSet<string> immutableSystemTypes = new(StringComparer.Ordinal)
    {
        "System.String", "System.DateTime", "System.DateTimeOffset", "System.TimeSpan", "System.Guid", "System.Decimal",
        "System.DateOnly", "System.TimeOnly", "System.Half", "System.Int128", "System.UInt128", "System.Uri", "System.Version",
    };
    static readonly HashSet<string> collectionTypes = new(StringComparer.Ordinal)
    {
        "System.Collections.Generic.List`1", "System.Collections.Generic.Dictionary`2", "System.Collections.Generic.HashSet`1",
        "System.Collections.Generic.SortedDictionary`2", "System.Collections.Generic.Queue`1", "System.Collections.Generic.Stack`1",
    };

    readonly Dictionary<TypeReference, string?> transferable = new(TypeReferenceComparer.Instance);
    readonly Dictionary<TypeReference, bool> immutable = new(TypeReferenceComparer.Instance);

    /// <summary>Null when the type can travel in a message, else why not.</summary>
    public string? WhyNotTransferable(TypeReference type)
    {
        if (transferable.TryGetValue(type, out var cached)) return cached;
        transferable[type] = null; // recursive types: assume yes while looking
        var why = Check(type);
        transferable[type] = why;
        return why;
    }

    string? Check(TypeReference type)
    {
        if (type.IsByReference) return "it is passed by reference (ref/out)";
        if (type.IsPointer || type.IsFunctionPointer) return $"{type.Name} is a pointer";
        if (type.IsGenericParameter) return $"{type.Name} is a generic parameter";
        if (type is ArrayType array)
            return array.IsVector ? WhyNotTransferable(array.ElementType) : $"{type.Name} is a multi-dimensional array";
        if (IsPrimitiveLike(type)) return null;
        if (type is GenericInstanceType generic)
        {
            var name = generic.ElementType.FullName;
            if (collectionTypes.Contains(name) || name == "System.Nullable`1")
                return generic.GenericArguments.Select(WhyNotTransferable).FirstOrDefault(w => w is not null);
            if (generic.ElementType.Resolve() is { } def && def.Module == null) return $"{type.Name} cannot be resolved";
        }
        var definition = type.Resolve();
        if (definition is null) return $"{type.FullName} cannot be resolved";
        if (definition.IsEnum) return null;
        if (IsDelegate(definition)) return $"{type.Name} is a delegate";
        var full = definition.FullName;
        if (full.StartsWith("System.Threading.Tasks.", StringComparison.Ordinal)) return $"{type.Name} is a task";
        if (full.StartsWith("System.IO.", StringComparison.Ordinal) || full.StartsWith("System.Net.", StringComparison.Ordinal))
            return $"{type.Name} is a stream, socket or other live resource";
        if (definition.IsInterface || definition.IsAbstract) return $"{type.Name} is an interface or abstract type: the receiver could not know what to create";
        if (full == "System.Object") return "object arguments have no type the receiver could recreate";
        if (definition.Module.Assembly.Name.Name is "System.Private.CoreLib" or "mscorlib" or "netstandard" or "System.Runtime"
            || definition.Module.Assembly.Name.Name.StartsWith("System.", StringComparison.Ordinal)
            || definition.Module.Assembly.Name.Name.StartsWith("Microsoft.", StringComparison.Ordinal))
            return $"{type.FullName} is a framework type that is not known to round-trip";
        if (definition.HasGenericParameters) return $"{type.Name} is generic";
        // A user record, class or struct: every instance field must travel, and be visible to the serializer.
        foreach (var field in definition.Fields.Where(f => !f.IsStatic))
        {
            if (!IsSerializedMember(definition, field))
                return $"{type.Name}.{MemberName(field)} is not public, so it would not travel in the message";
            var why = WhyNotTransferable(field.FieldType);
            if (why is not null) return $"{type.Name}.{MemberName(field)}: {why}";
        }
        return null;
    }

    static string MemberName(FieldDefinition field) =>
        field.Name.StartsWith("<", StringComparison.Ordinal) && field.Name.Contains(">k__BackingField")
            ? field.Name.Substring(1, field.Name.IndexOf('>') - 1)
            : field.Name;

    static bool IsSerializedMember(TypeDefinition type, FieldDefinition field)
    {
        if (field.IsPublic) return true;
        if (!field.Name.EndsWith(">k__BackingField", StringComparison.Ordinal)) return false;
        var property = type.Properties.FirstOrDefault(p => p.Name == MemberName(field));
        return property?.GetMethod is { IsPublic: true } && (property.SetMethod is { IsPublic: true } || HasConstructorParameter(type, property.Name));
    }

    static bool HasConstructorParameter(TypeDefinition type, string name) =>
        type.Methods.Any(m => m.IsConstructor && !m.IsStatic && m.IsPublic &&
                              m.Parameters.Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)));

    /// <summary>A value of this type can be shared freely: it cannot be changed after it is made.</summary>
    public bool IsImmutable(TypeReference type)
    {
        if (immutable.TryGetValue(type, out var cached)) return cached;
        immutable[type] = true; // recursive types: assume yes while looking
        var result = CheckImmutable(type);
        immutable[type] = result;
        return result;
    }

    bool CheckImmutable(TypeReference type)
    {
        if (type.IsArray || type.IsByReference || type.IsPointer) return false;
        if (IsPrimitiveLike(type)) return true;
        if (type is GenericInstanceType g)
            return g.ElementType.FullName == "System.Nullable`1" && IsImmutable(g.GenericArguments[0]);
        var definition = type.Resolve();
        if (definition is null) return false;
        if (definition.IsEnum) return true;
        if (collectionTypes.Contains(definition.FullName)) return false;
        if (definition.Module.Assembly.Name.Name.StartsWith("System", StringComparison.Ordinal)) return false;
        return definition.Fields.Where(f => !f.IsStatic).All(f => f.IsInitOnly && IsImmutable(f.FieldType));
    }

    public static bool IsPrimitiveLike(TypeReference type) =>
        type.IsPrimitive || type.MetadataType == MetadataType.String || immutableSystemTypes.Contains(type.FullName);

    static bool IsDelegate(TypeDefinition type) =>
        type.BaseType?.FullName is "System.MulticastDelegate" or "System.Delegate";
}

/// <summary>Compares type references by full name and scope, as Cecil creates several references to one type.</summary>
public sealed class TypeReferenceComparer : IEqualityComparer<TypeReference>
{
    public static readonly TypeReferenceComparer Instance = new();
    public bool Equals(TypeReference? x, TypeReference? y) => x?.FullName == y?.FullName;
    public int GetHashCode(TypeReference obj) => obj.FullName.GetHashCode();
}
