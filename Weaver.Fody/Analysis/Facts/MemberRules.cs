using Mono.Cecil;

namespace Weaving.Fody.Analysis;

/// <summary>
/// What the weaver knows about members of other assemblies: which calls only read the object they are called on,
/// and which take an argument only to read it. When unsure it answers "writes": that costs parallelism, never correctness.
/// </summary>
public static class MemberRules
{
    static readonly HashSet<string> readOnlyNames = new(StringComparer.Ordinal)
    {
        // any type
        "ToString", "GetHashCode", "Equals", "GetType", "CompareTo",
        // dictionaries
        "TryGetValue", "ContainsKey", "ContainsValue", "get_Item", "get_Count", "get_Keys", "get_Values", "GetEnumerator",
        "get_Comparer", "GetValueOrDefault", "get_IsEmpty", "get_Key", "get_Value", "Deconstruct", "get_HasValue",
        // lists, sets, queues, arrays
        "Contains", "IndexOf", "LastIndexOf", "ToArray", "Find", "FindIndex", "FindLast", "FindLastIndex", "FindAll", "Exists",
        "TrueForAll", "BinarySearch", "get_Length", "GetLength", "get_LongLength", "get_Rank", "Peek", "TryPeek", "get_Capacity",
        "get_IsReadOnly", "CopyTo", "GetRange", "ConvertAll", "IsSubsetOf", "IsSupersetOf", "IsProperSubsetOf",
        "IsProperSupersetOf", "Overlaps", "SetEquals", "get_Min", "get_Max", "AsSpan", "AsReadOnly", "GetValue",
        "GetLowerBound", "GetUpperBound", "get_First", "get_Last",
    };

    static readonly HashSet<string> immutableTypes = new(StringComparer.Ordinal)
    {
        "System.String", "System.Text.RegularExpressions.Regex", "System.Text.RegularExpressions.Match",
        "System.Text.RegularExpressions.Group", "System.Text.RegularExpressions.MatchCollection", "System.Uri", "System.Version",
        "System.Type", "System.DateTime", "System.DateTimeOffset", "System.TimeSpan", "System.Guid", "System.Decimal",
        "System.Globalization.CultureInfo", "System.Text.Encoding", "System.StringComparer",
        "System.Collections.Generic.KeyValuePair`2",
    };

    /// <summary>Calling <paramref name="method"/> on an object does not change that object.</summary>
    public static bool IsReadOnlyOnReceiver(MethodReference method)
    {
        var type = method.DeclaringType.GetElementType().FullName;
        if (immutableTypes.Contains(type) || method.DeclaringType.IsPrimitive) return true;
        if (type == "System.Text.StringBuilder") return method.Name is "ToString" or "get_Length" or "get_Chars";
        if (type.StartsWith("System.Collections.Immutable.", StringComparison.Ordinal)) return true;
        if (type.StartsWith("System.Random", StringComparison.Ordinal)) return false;
        // An enumerator is its own object: moving it changes no collection it came from.
        if (IsEnumeratorPlumbing(method)) return true;
        return readOnlyNames.Contains(method.Name);
    }

    static readonly HashSet<string> argumentWriters = new(StringComparer.Ordinal)
    {
        "Sort", "Copy", "Fill", "Clear", "Reverse", "Resize", "ConstrainedCopy", "BlockCopy", "SetValue", "Shuffle",
        "Exchange", "CompareExchange", "Increment", "Decrement", "Add", "Write", "AddRange", "Push", "Enqueue",
        "TryAdd", "Remove", "TryRemove", "GetValueRefOrAddDefault", "GetValueRefOrNullRef", "AsSpan",
    };

    // Static methods of System.Array that only read the arrays they are given.
    static readonly HashSet<string> arrayReaders = new(StringComparer.Ordinal)
    {
        "IndexOf", "LastIndexOf", "BinarySearch", "Exists", "Find", "FindAll", "FindIndex", "FindLast", "FindLastIndex",
        "TrueForAll", "ConvertAll", "AsReadOnly", "GetLength", "GetValue", "Contains",
    };

    /// <summary>A method of another assembly that receives an object as a (non-receiver) argument only reads it.</summary>
    public static bool IsReadOnlyOnArgument(MethodReference method)
    {
        var type = method.DeclaringType.GetElementType().FullName;
        if (type == "System.Array") return arrayReaders.Contains(method.Name);
        if (type is "System.Buffer" or "System.Threading.Interlocked" or "System.Threading.Volatile"
            or "System.Runtime.CompilerServices.Unsafe" or "System.Runtime.InteropServices.MemoryMarshal"
            or "System.Runtime.InteropServices.CollectionsMarshal" or "System.Runtime.CompilerServices.RuntimeHelpers")
            return false;
        return !argumentWriters.Contains(method.Name);
    }

    /// <summary>
    /// The plumbing an <c>await</c> compiles to: the async method builder, awaiters, <c>GetAwaiter</c> and
    /// <c>ConfigureAwait</c>. Never an effect: what is awaited is looked at where it is called.
    /// </summary>
    public static bool IsAwaitPlumbing(MethodReference method)
    {
        var type = method.DeclaringType.GetElementType();
        if (type.Namespace == "System.Runtime.CompilerServices"
            && (type.Name.Contains("MethodBuilder") || type.Name.Contains("Awaiter") || type.Name.Contains("Awaitable")))
            return true;
        var declaring = type.DeclaringType;
        if (declaring is not null && declaring.Namespace == "System.Runtime.CompilerServices" && declaring.Name.Contains("Awaitable"))
            return true;
        return type.Namespace == "System.Threading.Tasks" && type.Name is "Task" or "Task`1" or "ValueTask" or "ValueTask`1"
               && method.Name is "GetAwaiter" or "ConfigureAwait";
    }

    /// <summary>A <c>Task</c> or <c>ValueTask</c> without a result: what a call returns when it is done for its effect.</summary>
    public static bool IsBareTask(TypeReference type) =>
        type.FullName is "System.Threading.Tasks.Task" or "System.Threading.Tasks.ValueTask";

    /// <summary>The plumbing a foreach loop calls on its enumerator: never an effect.</summary>
    public static bool IsEnumeratorPlumbing(MethodReference method) =>
        method.Name is "MoveNext" or "get_Current" or "GetEnumerator"
        || (method.Name == "Dispose" && (method.DeclaringType.FullName == "System.IDisposable"
                                         || method.DeclaringType.Name.Contains("Enumerator")));

    /// <summary>
    /// A method of another assembly that may keep a reference to an object it receives as an argument (adds it to a
    /// collection, stores it). Read-only methods and the string and formatting methods do not.
    /// </summary>
    public static bool MayRetainArgument(MethodReference method)
    {
        var type = method.DeclaringType.GetElementType().FullName;
        // Linq is lazy: Where(a) returns an object that holds a. Only the methods that consume at once are safe.
        if (type == "System.Linq.Enumerable")
            return method.Name is not ("ToArray" or "ToList" or "ToDictionary" or "ToHashSet" or "Sum" or "Count" or "LongCount"
                or "Any" or "All" or "Min" or "Max" or "Average" or "Contains" or "SequenceEqual" or "Aggregate");
        if (type is "System.String" or "System.Console" or "System.Math" or "System.Convert"
            or "System.Text.StringBuilder" or "System.Runtime.CompilerServices.RuntimeHelpers"
            or "System.Runtime.CompilerServices.DefaultInterpolatedStringHandler") return false;
        if (type == "System.Array") return method.Name is "Copy" or "ConstrainedCopy" or "SetValue" or "Fill";
        return !IsReadOnlyOnArgument(method) || method.Name is ".ctor" or "Add" or "Insert" or "set_Item" or "Push" or "Enqueue";
    }

    /// <summary>The console is one resource: the order of everything written to it is visible.</summary>
    /// <summary>A call that ends the process: nothing posted before it would run.</summary>
    public static bool EndsProcess(string externalCall) =>
        externalCall is "System.Environment.Exit" or "System.Environment.FailFast";

    public static bool IsConsole(string externalCall) => externalCall.StartsWith("System.Console.", StringComparison.Ordinal);
}
