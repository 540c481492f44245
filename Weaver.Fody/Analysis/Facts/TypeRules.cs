using Mono.Cecil;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Which argument types can travel in a message, and which are immutable (never need copying or ownership). A type
/// travels when MessageCodec round-trips it exactly: the receiver recreates an equal value, in the same order.
/// </summary>
public sealed class TypeRules
{
    static readonly HashSet<string> immutableSystemTypes = new(StringComparer.Ordinal)
    {
        "System.String", "System.DateTime", "System.DateTimeOffset", "System.TimeSpan", "System.Guid", "System.Decimal",
        "System.DateOnly", "System.TimeOnly", "System.Half", "System.Int128", "System.UInt128", "System.Uri", "System.Version",
    };

    readonly Dictionary<TypeReference, string?> transferable = new(TypeReferenceComparer.Instance);
    readonly Dictionary<TypeReference, bool> immutable = new(TypeReferenceComparer.Instance);
    // For each class of the woven module that another of its classes derives from: the first such class. A value
    // declared as the base may be any of them, and the message recreates what its declared type says.
    readonly Dictionary<TypeDefinition, TypeDefinition> firstDerived = [];

    public TypeRules(ModuleDefinition? module = null)
    {
        if (module is null) return;
        foreach (var type in module.GetTypes())
            if (!type.IsInterface && type.BaseType?.Resolve() is { } baseType && baseType.Module == module && !firstDerived.ContainsKey(baseType))
                firstDerived[baseType] = type;
    }

    /// <summary>Null when the type can travel in a message, else why not, naming the type.</summary>
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
        var name = FrameworkShapes.Display(type);
        if (type.IsByReference) return "it is passed by reference (ref/out)";
        if (type.IsPointer || type.IsFunctionPointer) return $"{name} is a pointer: an address means nothing in another process";
        if (type.IsGenericParameter) return $"{name} is a generic parameter: the receiver could not know what to create";
        if (type is ArrayType array) return WhyNotTransferable(array.ElementType); // vectors, jagged and multi-dimensional arrays
        if (type.MetadataType is MetadataType.IntPtr or MetadataType.UIntPtr)
            return $"{name} is a native-sized integer, often a handle to something in this process";
        if (IsPrimitiveLike(type)) return null;
        if (type is GenericInstanceType generic && FrameworkShapes.Of(generic) is var shape and not FrameworkShape.None)
        {
            if (shape.IsDictionary() && !CanBeDictionaryKey(generic.GenericArguments[0]))
                return $"{name}: its keys ({FrameworkShapes.Display(generic.GenericArguments[0])}) are not strings, numbers, enums or " +
                       "other values that can be written as the names of a JSON object";
            return generic.GenericArguments.Select(WhyNotTransferable).FirstOrDefault(w => w is not null);
        }
        var definition = type.Resolve();
        if (definition is null) return $"{type.FullName} cannot be resolved";
        if (definition.IsEnum) return null;
        if (IsDelegate(definition)) return $"{name} is a delegate: code and what it captures cannot travel";
        var full = Qualified(type);
        if (full.StartsWith("System.Threading.Tasks.", StringComparison.Ordinal)) return $"{name} is a task: it stands for work running in this process";
        if (full.StartsWith("System.IO.", StringComparison.Ordinal) || full.StartsWith("System.Net.", StringComparison.Ordinal))
            return $"{full} is a stream, file, socket or other connection to something outside the process";
        if (full.StartsWith("System.Threading.", StringComparison.Ordinal)) return $"{full} belongs to the threads of this process";
        if (definition.CustomAttributes.Any(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.IsByRefLikeAttribute"))
            return $"{name} is a ref struct (a span): it points into memory of this process";
        if (full == "System.Object") return "System.Object: an object argument has no type the receiver could recreate";
        if (definition.IsInterface || definition.IsAbstract) return $"{name} is an interface or abstract type: the receiver could not know what to create";
        if (firstDerived.TryGetValue(definition, out var derived))
            return $"{name} has derived types ({FrameworkShapes.Display(derived)}): a message recreates a value as the type its parameter declares, " +
                   $"so a {FrameworkShapes.Display(derived)} would arrive as a {name}";
        if (IsFramework(definition)) return $"{full} is a framework type that messages do not round-trip exactly";
        if (definition.HasGenericParameters) return $"{name} is a generic type of this program (not supported yet)";
        return WhyNotRecreated(definition);
    }

    // A user record, class or struct travels as its public fields and properties, and is recreated the way the
    // serializer does it: a struct through its default constructor and setters; a class through its parameterless
    // public constructor, else its only public constructor, then setters.
    string? WhyNotRecreated(TypeDefinition type)
    {
        var name = FrameworkShapes.Display(type);
        if (type.Methods.FirstOrDefault(m => m.IsConstructor && !m.IsStatic &&
                                              m.CustomAttributes.Any(a => a.AttributeType.Name == "JsonConstructorAttribute")) is { } marked)
            return WhyNotBound(type, marked.Parameters);
        IList<ParameterDefinition> parameters = [];
        if (!type.IsValueType)
        {
            var constructors = type.Methods.Where(m => m.IsConstructor && !m.IsStatic && m.IsPublic).ToList();
            if (constructors.Count == 0) return $"{name} has no public constructor, so the receiver could not create it";
            if (!constructors.Any(c => c.Parameters.Count == 0))
            {
                if (constructors.Count > 1) return $"{name} has several public constructors and none without parameters: the receiver could not know which to call";
                parameters = constructors[0].Parameters;
            }
        }
        return WhyNotBound(type, parameters);
    }

    string? WhyNotBound(TypeDefinition type, IList<ParameterDefinition> parameters)
    {
        var name = FrameworkShapes.Display(type);
        var members = new List<(string Name, TypeReference Type)>();
        for (TypeDefinition? declaring = type; declaring is not null;)
        {
            foreach (var field in declaring.Fields.Where(f => !f.IsStatic))
            {
                var member = MemberName(field);
                var property = declaring.Properties.FirstOrDefault(p => p.Name == member && IsBackingField(field));
                if (!field.IsPublic && property?.GetMethod is not { IsPublic: true })
                    return $"{name}.{member} is not public, so it would not travel in the message";
                var settable = property is null ? !field.IsInitOnly : property.SetMethod is { IsPublic: true };
                if (!settable && !parameters.Any(p => Binds(p, member, field.FieldType)))
                    return type.IsValueType
                        ? $"{name}.{member} is read-only and {name} is a struct, which the receiver creates empty: it would arrive as its default"
                        : $"{name}.{member} is read-only and no constructor parameter sets it: it would arrive as its default";
                if (WhyNotTransferable(field.FieldType) is { } inner) return $"{name}.{member}: {inner}";
                members.Add((member, field.FieldType));
            }
            // Computed properties are written too (and ignored when read): writing them must not fail.
            foreach (var property in declaring.Properties.Where(p => p.GetMethod is { IsPublic: true, IsStatic: false } && !p.HasParameters))
                if (!members.Any(m => m.Name == property.Name) && WhyNotTransferable(property.PropertyType) is { } inner)
                    return $"{name}.{property.Name}: {inner}";
            declaring = BaseOf(declaring, out var why);
            if (why is not null) return why;
        }
        foreach (var parameter in parameters)
            if (!members.Any(m => Binds(parameter, m.Name, m.Type)))
                return $"{name}'s constructor parameter '{parameter.Name}' matches no public member of its type, so the receiver could not call it";
        return null;
    }

    static bool Binds(ParameterDefinition parameter, string member, TypeReference type) =>
        string.Equals(parameter.Name, member, StringComparison.OrdinalIgnoreCase) && TypeReferenceComparer.Instance.Equals(parameter.ParameterType, type);

    /// <summary>The next base type whose fields travel too, or null at object/ValueType; why not when it is a framework type.</summary>
    static TypeDefinition? BaseOf(TypeDefinition type, out string? whyNot)
    {
        whyNot = null;
        // EventArgs holds nothing: a class of event arguments travels as its own fields.
        if (type.BaseType is null || type.BaseType.FullName is "System.Object" or "System.ValueType" or "System.EventArgs") return null;
        var definition = type.BaseType.Resolve();
        if (definition is null || IsFramework(definition) || type.BaseType is GenericInstanceType)
            whyNot = $"{FrameworkShapes.Display(type)} derives from {FrameworkShapes.Display(type.BaseType)}, whose state would not travel";
        return whyNot is null ? definition : null;
    }

    // Dictionaries are JSON objects: their keys must be written as property names.
    bool CanBeDictionaryKey(TypeReference key) =>
        (IsPrimitiveLike(key) && key.MetadataType is not (MetadataType.IntPtr or MetadataType.UIntPtr))
        || (key is not GenericInstanceType && key.Resolve() is { IsEnum: true });

    /// <summary>The display name with its namespace: <c>System.IO.Stream</c>, <c>System.ArraySegment&lt;Int32&gt;</c>.</summary>
    static string Qualified(TypeReference type)
    {
        var outer = type;
        while (outer.DeclaringType is not null) outer = outer.DeclaringType;
        var name = FrameworkShapes.Display(type);
        return outer.Namespace.Length == 0 ? name : outer.Namespace + "." + name;
    }

    static bool IsFramework(TypeDefinition definition) =>
        definition.Module.Assembly.Name.Name is "mscorlib" or "netstandard"
        || definition.Module.Assembly.Name.Name.StartsWith("System.", StringComparison.Ordinal)
        || definition.Module.Assembly.Name.Name.StartsWith("Microsoft.", StringComparison.Ordinal);

    static bool IsBackingField(FieldDefinition field) =>
        field.Name.StartsWith("<", StringComparison.Ordinal) && field.Name.Contains(">k__BackingField");

    static string MemberName(FieldDefinition field) =>
        IsBackingField(field) ? field.Name.Substring(1, field.Name.IndexOf('>') - 1) : field.Name;

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
            // A tuple or immutable collection is as immutable as what it holds; a tuple holding a list is not.
            return FrameworkShapes.Of(g) is FrameworkShape.ImmutableCollection or FrameworkShape.ImmutableDictionary or FrameworkShape.Composite
                   && g.GenericArguments.All(IsImmutable);
        var definition = type.Resolve();
        if (definition is null) return false;
        if (definition.IsEnum) return true;
        if (IsFramework(definition)) return false;
        for (TypeDefinition? declaring = definition; declaring is not null;)
        {
            if (!declaring.Fields.Where(f => !f.IsStatic).All(f => f.IsInitOnly && IsImmutable(f.FieldType))) return false;
            declaring = BaseOf(declaring, out var framework);
            if (framework is not null) return false;
        }
        return true;
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
