using Mono.Cecil;

namespace Weaving.Fody.Analysis;

/// <summary>What a generic framework type is to a message: how it travels, and whether it can change once made.</summary>
public enum FrameworkShape
{
    /// <summary>Not a generic framework type a message carries.</summary>
    None,
    /// <summary>A collection that can change (List, HashSet, Queue, Stack, …): copied and handed over.</summary>
    MutableCollection,
    /// <summary>A mutable collection keyed by its first type argument, written as a JSON object.</summary>
    MutableDictionary,
    /// <summary>A System.Collections.Immutable collection: immutable when its elements are.</summary>
    ImmutableCollection,
    /// <summary>An immutable collection keyed by its first type argument.</summary>
    ImmutableDictionary,
    /// <summary>A value made of its type arguments (Nullable, ValueTuple, Tuple, KeyValuePair): immutable when they are.</summary>
    Composite,
}

/// <summary>The generic framework types the message format round-trips exactly (MessageCodec), by generic definition.</summary>
public static class FrameworkShapes
{
    static readonly Dictionary<string, FrameworkShape> shapes = Build();

    static Dictionary<string, FrameworkShape> Build()
    {
        const string generic = "System.Collections.Generic.", immutable = "System.Collections.Immutable.";
        var map = new Dictionary<string, FrameworkShape>(StringComparer.Ordinal)
        {
            [generic + "List`1"] = FrameworkShape.MutableCollection,
            [generic + "HashSet`1"] = FrameworkShape.MutableCollection,
            [generic + "SortedSet`1"] = FrameworkShape.MutableCollection,
            [generic + "Queue`1"] = FrameworkShape.MutableCollection,
            [generic + "Stack`1"] = FrameworkShape.MutableCollection,
            [generic + "LinkedList`1"] = FrameworkShape.MutableCollection,
            [generic + "Dictionary`2"] = FrameworkShape.MutableDictionary,
            [generic + "SortedDictionary`2"] = FrameworkShape.MutableDictionary,
            [generic + "SortedList`2"] = FrameworkShape.MutableDictionary,
            [immutable + "ImmutableArray`1"] = FrameworkShape.ImmutableCollection,
            [immutable + "ImmutableList`1"] = FrameworkShape.ImmutableCollection,
            [immutable + "ImmutableHashSet`1"] = FrameworkShape.ImmutableCollection,
            [immutable + "ImmutableSortedSet`1"] = FrameworkShape.ImmutableCollection,
            [immutable + "ImmutableQueue`1"] = FrameworkShape.ImmutableCollection,
            [immutable + "ImmutableStack`1"] = FrameworkShape.ImmutableCollection,
            [immutable + "ImmutableDictionary`2"] = FrameworkShape.ImmutableDictionary,
            [immutable + "ImmutableSortedDictionary`2"] = FrameworkShape.ImmutableDictionary,
            ["System.Nullable`1"] = FrameworkShape.Composite,
            [generic + "KeyValuePair`2"] = FrameworkShape.Composite,
        };
        for (var arity = 1; arity <= 8; arity++)
        {
            map[$"System.ValueTuple`{arity}"] = FrameworkShape.Composite;
            map[$"System.Tuple`{arity}"] = FrameworkShape.Composite;
        }
        return map;
    }

    public static FrameworkShape Of(GenericInstanceType type) =>
        shapes.TryGetValue(type.ElementType.FullName, out var shape) ? shape : FrameworkShape.None;

    public static bool IsDictionary(this FrameworkShape shape) =>
        shape is FrameworkShape.MutableDictionary or FrameworkShape.ImmutableDictionary;

    /// <summary>C#-like short name for messages: <c>Dictionary&lt;ValueTuple&lt;Int32, Int32&gt;, String&gt;</c>, <c>Int32[,]</c>.</summary>
    public static string Display(TypeReference type) => type switch
    {
        ArrayType array => Display(array.ElementType) + "[" + new string(',', array.Rank - 1) + "]",
        ByReferenceType byReference => Display(byReference.ElementType) + "&",
        PointerType pointer => Display(pointer.ElementType) + "*",
        GenericInstanceType generic => WithoutArity(generic.ElementType.Name) + "<" + string.Join(", ", generic.GenericArguments.Select(Display)) + ">",
        _ => type.DeclaringType is { } outer && !type.IsGenericParameter ? Display(outer) + "." + WithoutArity(type.Name) : WithoutArity(type.Name),
    };

    static string WithoutArity(string name) => name.IndexOf('`') is var tick and >= 0 ? name.Substring(0, tick) : name;
}
