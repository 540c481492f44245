using System.Collections.Immutable;

namespace Weaving.Tests.Runtime;

/// <summary>
/// The message body round-trips every argument type the weaver lets travel exactly, element order included: what
/// System.Text.Json alone gets wrong (multi-dimensional arrays, stacks, the default ImmutableArray, NaN) above all.
/// </summary>
[TestClass]
public sealed class MessageCodecTests
{
    // Shaped like a generated message: public fields named as the handler's parameters.
    sealed class Message : StageMessage
    {
        public int[,] Grid = null!;
        public string[,,] Cube = null!;
        public int[,] Offset = null!;
        public int[][,] JaggedOfGrids = null!;
        public Stack<string> Stack = null!;
        public ImmutableStack<int> ImmutableStack = null!;
        public List<Stack<int>> Stacks = null!;
        public ImmutableArray<int> DefaultArray;
        public ImmutableArray<int> Array;
        public (double NaN, float Infinity, double NegativeZero) Numbers;
        public HashSet<string> Set = null!;
        public Queue<int> Queue = null!;
        public Dictionary<string, int> Dictionary = null!;
        public SortedList<int, string> SortedList = null!;
        public Tuple<int, string> Tuple = null!;
        public (int, int, int, int, int, int, int, int, int) LongTuple;
        public override void Invoke() { }
    }

    static Message RoundTrip(Message message) => (Message)MessageCodec.Deserialize(typeof(Message), MessageCodec.Serialize(message));

    static Message Sample()
    {
        var offset = (int[,])System.Array.CreateInstance(typeof(int), [2, 3], [-1, 5]);
        for (var i = -1; i <= 0; i++)
            for (var j = 5; j <= 7; j++)
                offset[i, j] = 10 * i + j;
        var stack = new Stack<string>();
        stack.Push("bottom");
        stack.Push("top");
        var set = new HashSet<string> { "pear", "apple", "fig" };
        set.Remove("apple");
        set.Add("lime");
        var queue = new Queue<int>([1, 2, 3]);
        queue.Dequeue();
        queue.Enqueue(4);
        var dictionary = new Dictionary<string, int> { ["b"] = 1, ["a"] = 2, ["c"] = 3 };
        dictionary.Remove("b");
        dictionary["d"] = 4;
        return new Message
        {
            Grid = new[,] { { 1, 2, 3 }, { 4, 5, 6 } },
            Cube = new string[0, 2, 3],
            Offset = offset,
            JaggedOfGrids = [new[,] { { 1 }, { 2 } }, null!],
            Stack = stack,
            ImmutableStack = ImmutableStack.Create(1, 2, 3),
            Stacks = [new([1, 2]), new([3])],
            Array = [3, 1, 2],
            Numbers = (double.NaN, float.NegativeInfinity, -0.0),
            Set = set,
            Queue = queue,
            Dictionary = dictionary,
            SortedList = new() { [2] = "b", [1] = "a" },
            Tuple = System.Tuple.Create(1, "one"),
            LongTuple = (1, 2, 3, 4, 5, 6, 7, 8, 9),
        };
    }

    [TestMethod]
    public void Multi_dimensional_arrays_keep_their_lengths_lower_bounds_and_items()
    {
        var sent = Sample();
        var back = RoundTrip(sent);
        CollectionAssert.AreEqual(sent.Grid, back.Grid);
        Assert.AreEqual(2, back.Grid.GetLength(0));
        Assert.AreEqual(6, back.Grid[1, 2]);
        Assert.AreEqual((0, 2, 3), (back.Cube.GetLength(0), back.Cube.GetLength(1), back.Cube.GetLength(2)), "an empty dimension keeps the others' lengths");
        Assert.AreEqual((-1, 5), (back.Offset.GetLowerBound(0), back.Offset.GetLowerBound(1)));
        Assert.AreEqual(-3, back.Offset[-1, 7]);
        Assert.AreEqual(5, back.Offset[0, 5]);
        Assert.AreEqual(2, back.JaggedOfGrids[0][1, 0]);
        Assert.IsNull(back.JaggedOfGrids[1]);
    }

    [TestMethod]
    public void Stacks_arrive_the_right_way_up_at_any_depth()
    {
        var back = RoundTrip(Sample());
        CollectionAssert.AreEqual(new[] { "top", "bottom" }, back.Stack.ToArray());
        CollectionAssert.AreEqual(new[] { 3, 2, 1 }, back.ImmutableStack.ToArray());
        CollectionAssert.AreEqual(new[] { 2, 1 }, back.Stacks[0].ToArray());
        // and again: a message handed on twice (source, stage, stage) is still the right way up
        CollectionAssert.AreEqual(new[] { "top", "bottom" }, RoundTrip(back).Stack.ToArray());
    }

    [TestMethod]
    public void Collections_enumerate_in_the_order_they_did_before_they_travelled()
    {
        var sent = Sample();
        var back = RoundTrip(sent);
        // A set or dictionary enumerates in the order its slots were filled, removals included.
        CollectionAssert.AreEqual(sent.Set.ToArray(), back.Set.ToArray());
        CollectionAssert.AreEqual(new[] { "pear", "lime", "fig" }, back.Set.ToArray());
        CollectionAssert.AreEqual(sent.Dictionary.ToArray(), back.Dictionary.ToArray());
        CollectionAssert.AreEqual(new[] { 2, 3, 4 }, back.Queue.ToArray());
        CollectionAssert.AreEqual(new[] { 1, 2 }, back.SortedList.Keys.ToArray());
    }

    [TestMethod]
    public void The_default_ImmutableArray_NaN_infinities_and_tuples_round_trip()
    {
        var back = RoundTrip(Sample());
        Assert.IsTrue(back.DefaultArray.IsDefault);
        CollectionAssert.AreEqual(new[] { 3, 1, 2 }, back.Array.ToArray());
        Assert.IsTrue(double.IsNaN(back.Numbers.NaN));
        Assert.AreEqual(float.NegativeInfinity, back.Numbers.Infinity);
        Assert.IsTrue(double.IsNegative(back.Numbers.NegativeZero), "-0.0 stays negative");
        Assert.AreEqual(System.Tuple.Create(1, "one"), back.Tuple);
        Assert.AreEqual((1, 2, 3, 4, 5, 6, 7, 8, 9), back.LongTuple);
    }

    [TestMethod]
    public void Clone_is_a_deep_copy_that_shares_nothing_with_the_original()
    {
        var sent = Sample();
        var copy = (Message)MessageCodec.Clone(sent);
        copy.Grid[0, 0] = 99;
        copy.Stack.Push("more");
        Assert.AreEqual(1, sent.Grid[0, 0]);
        Assert.AreEqual(2, sent.Stack.Count);
    }

    sealed class Collections : StageMessage
    {
        public HashSet<string> Set = null!;
        public SortedSet<int> Sorted = null!;
        public Dictionary<string, int> Map = null!;
        public ImmutableSortedDictionary<string, int> ImmutableMap = null!;
        public Dictionary<DayOfWeek, Dictionary<int, int[,]>> Nested = null!;
        public override void Invoke() { }
    }

    static Collections Defaults() => new()
    {
        Set = new HashSet<string>(StringComparer.Ordinal) { "b", "a" },
        Sorted = new SortedSet<int> { 3, 1, 2 },
        Map = new Dictionary<string, int> { ["b"] = 1, ["a"] = 2 },
        ImmutableMap = ImmutableSortedDictionary.CreateRange(new Dictionary<string, int> { ["b"] = 1, ["a"] = 2 }),
        Nested = new() { [DayOfWeek.Friday] = new() { [7] = new[,] { { 1, 2 } } } },
    };

    [TestMethod]
    public void Sets_and_dictionaries_with_the_default_comparer_travel_with_their_keys_and_order()
    {
        var back = (Collections)MessageCodec.Clone(Defaults());
        CollectionAssert.AreEqual(new[] { "b", "a" }, back.Set.ToArray());
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, back.Sorted.ToArray());
        CollectionAssert.AreEqual(new[] { "b", "a" }, back.Map.Keys.ToArray());
        CollectionAssert.AreEqual(new[] { "a", "b" }, back.ImmutableMap.Keys.ToArray());
        Assert.AreEqual(2, back.Nested[DayOfWeek.Friday][7][0, 1]);
    }

    [TestMethod]
    public void A_set_or_dictionary_made_with_another_comparer_fails_its_post_naming_the_collection_and_the_comparer()
    {
        var cases = new (Action<Collections> Change, string Named)[]
        {
            (c => c.Set = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "a" }, "HashSet<String> was made with the comparer OrdinalIgnoreCaseComparer"),
            (c => c.Sorted = new SortedSet<int>(Comparer<int>.Create((x, y) => y.CompareTo(x))) { 1, 2 }, "SortedSet<Int32> was made with the comparer"),
            (c => c.Map = new Dictionary<string, int>(StringComparer.InvariantCultureIgnoreCase), "Dictionary<String, Int32> was made with the comparer"),
            (c => c.ImmutableMap = ImmutableSortedDictionary.Create<string, int>(StringComparer.Ordinal), "ImmutableSortedDictionary<String, Int32> was made with the comparer"),
            (c => c.Nested[DayOfWeek.Friday] = new Dictionary<int, int[,]>(EqualityComparer<int>.Create((x, y) => x % 10 == y % 10, x => x % 10)), "Dictionary<Int32, Int32[,]> was made with the comparer"),
        };
        foreach (var (change, named) in cases)
        {
            var message = Defaults();
            change(message);
            var e = Assert.ThrowsExactly<NotSupportedException>(() => MessageCodec.Serialize(message), named);
            StringAssert.Contains(e.Message, named);
            StringAssert.Contains(e.Message, "make the collection in the handler");
        }
    }
}
