using System.Collections.Concurrent;
using System.Collections.Immutable;
using Mono.Cecil;
using Weaving.Fody.Analysis;

namespace Weaving.Tests.Weaver;

/// <summary>
/// Which argument types travel (exactly what MessageCodec round-trips), which are immutable (handed over without a copy
/// nor an ownership check), and for the others a reason that names the type and says why.
/// </summary>
[TestClass]
public sealed class TypeRulesTests
{
    static readonly ModuleDefinition module = ReadThisModule();
    readonly TypeRules rules = new();

    static ModuleDefinition ReadThisModule()
    {
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        resolver.AddSearchDirectory(AppContext.BaseDirectory);
        return ModuleDefinition.ReadModule(typeof(TypeRulesTests).Assembly.Location, new ReaderParameters { AssemblyResolver = resolver });
    }

    static TypeReference Ref(Type type) => module.ImportReference(type);

    string? WhyNot(Type type) => rules.WhyNotTransferable(Ref(type));

    public sealed record Positional(int X, ImmutableList<string> Names);
    public sealed record WithInit { public int X { get; init; } }
    public struct MutableStruct { public int X; public List<int> Items; }
    public readonly record struct ReadOnlyRecordStruct(int X, string Name);
    public struct ReadOnlyField(int x) { public readonly int X = x; }
    public struct GetterOnly(int x) { public int X { get; } = x; }
    public sealed class TwoConstructors
    {
        public int X { get; }
        public TwoConstructors(int x) => X = x;
        public TwoConstructors(string x) => X = x.Length;
    }
    public sealed class UnboundParameter(int seed) { public int X { get; } = seed; }
    public sealed class UnboundSettable(int seed) { public int X { get; set; } = seed; }
    public sealed class SetterlessAfterDefaultConstructor { public int X { get; private set; } }
    public sealed class DerivedFromList : List<int> { public int Extra; }
    public sealed class ComputedStream { public int X { get; set; } public Stream Data => Stream.Null; }
    public record Base(int X);
    public sealed record Derived(int X, int Y) : Base(X);

    [TestMethod]
    public void The_new_argument_shapes_travel()
    {
        foreach (var type in new[]
        {
            typeof(int[,]), typeof(string[,,]), typeof(int[][]), typeof(int[][,]), typeof(HashSet<string>), typeof(Queue<int>), typeof(Stack<int>),
            typeof(SortedDictionary<string, int>), typeof(SortedList<int, string>), typeof(SortedSet<int>), typeof(LinkedList<string>),
            typeof(ImmutableArray<int>), typeof(ImmutableList<string>), typeof(ImmutableDictionary<string, int>), typeof(ImmutableHashSet<string>),
            typeof(ImmutableSortedSet<int>), typeof(ImmutableSortedDictionary<int, string>), typeof(ImmutableQueue<int>), typeof(ImmutableStack<int>),
            typeof((int, string)), typeof((int, int, int, int, int, int, int, int, int)), typeof(Tuple<int, string>), typeof(KeyValuePair<string, int[]>),
            typeof((int, int)?), typeof(Dictionary<DayOfWeek, int>), typeof(Dictionary<Guid, List<int>>),
            typeof(Positional), typeof(WithInit), typeof(MutableStruct), typeof(ReadOnlyRecordStruct), typeof(Derived),
        })
            Assert.IsNull(WhyNot(type), $"{type}: {WhyNot(type)}");
    }

    [TestMethod]
    public void Immutable_collections_and_tuples_of_immutable_values_are_immutable_and_those_holding_mutable_things_are_not()
    {
        foreach (var type in new[]
        {
            typeof(ImmutableArray<int>), typeof(ImmutableList<string>), typeof(ImmutableDictionary<string, int>), typeof(ImmutableHashSet<string>),
            typeof(ImmutableSortedSet<int>), typeof(ImmutableSortedDictionary<int, string>), typeof(ImmutableQueue<int>), typeof(ImmutableStack<int>),
            typeof((int, string)), typeof((int, int, int, int, int, int, int, int, int)), typeof(Tuple<int, string>), typeof(KeyValuePair<string, int>),
            typeof((int, int)?), typeof(ImmutableList<(int, string)>), typeof(Positional), typeof(WithInit), typeof(ReadOnlyRecordStruct), typeof(Derived),
        })
            Assert.IsTrue(rules.IsImmutable(Ref(type)), $"{type} should be immutable");
        foreach (var type in new[]
        {
            typeof(int[,]), typeof(int[][]), typeof(HashSet<string>), typeof(Stack<int>), typeof(SortedList<int, string>),
            typeof(ImmutableList<List<int>>), typeof(ImmutableDictionary<string, int[]>), typeof((int, List<int>)), typeof(Tuple<int[]>),
            typeof(KeyValuePair<string, int[]>), typeof(MutableStruct),
        })
            Assert.IsFalse(rules.IsImmutable(Ref(type)), $"{type} should not be immutable");
    }

    [TestMethod]
    public void A_type_that_cannot_travel_is_named_with_why()
    {
        (Type Type, string Why)[] cases =
        [
            (typeof(Stream), "System.IO.Stream is a stream, file, socket or other connection to something outside the process"),
            (typeof(Func<int>), "Func<Int32> is a delegate"),
            (typeof(Task<int>), "Task<Int32> is a task"),
            (typeof(CancellationToken), "System.Threading.CancellationToken belongs to the threads of this process"),
            (typeof(nint), "IntPtr is a native-sized integer"),
            (typeof(object), "System.Object: an object argument has no type the receiver could recreate"),
            (typeof(IReadOnlyList<int>), "IReadOnlyList<Int32> is an interface or abstract type"),
            (typeof(ConcurrentBag<int>), "System.Collections.Concurrent.ConcurrentBag<Int32> is a framework type that messages do not round-trip exactly"),
            (typeof(ArraySegment<int>), "System.ArraySegment<Int32> is a framework type"),
            (typeof(Dictionary<(int, int), string>), "Dictionary<ValueTuple<Int32, Int32>, String>: its keys (ValueTuple<Int32, Int32>) are not strings, numbers, enums"),
            (typeof(SortedList<Positional, int>), "its keys (TypeRulesTests.Positional)"),
            (typeof(List<Func<int>>), "Func<Int32> is a delegate"),
            (typeof((int, Stream)), "System.IO.Stream is a stream"),
            (typeof(ImmutableList<Stream>), "System.IO.Stream is a stream"),
            (typeof(ReadOnlyField), "TypeRulesTests.ReadOnlyField.X is read-only and TypeRulesTests.ReadOnlyField is a struct, which the receiver creates empty"),
            (typeof(GetterOnly), "TypeRulesTests.GetterOnly.X is read-only and TypeRulesTests.GetterOnly is a struct"),
            (typeof(TwoConstructors), "TypeRulesTests.TwoConstructors has several public constructors and none without parameters"),
            (typeof(UnboundParameter), "TypeRulesTests.UnboundParameter.X is read-only and no constructor parameter sets it"),
            (typeof(UnboundSettable), "TypeRulesTests.UnboundSettable's constructor parameter 'seed' matches no public member of its type"),
            (typeof(SetterlessAfterDefaultConstructor), "TypeRulesTests.SetterlessAfterDefaultConstructor.X is read-only and no constructor parameter sets it"),
            (typeof(DerivedFromList), "TypeRulesTests.DerivedFromList derives from List<Int32>, whose state would not travel"),
            (typeof(ComputedStream), "TypeRulesTests.ComputedStream.Data: System.IO.Stream is a stream"),
        ];
        foreach (var (type, why) in cases)
        {
            var actual = WhyNot(type);
            Assert.IsNotNull(actual, $"{type} should not travel");
            StringAssert.Contains(actual, why, $"{type}");
        }
    }
}
