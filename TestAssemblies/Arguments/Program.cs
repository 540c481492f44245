// Arguments a user would pass, each handed to a handler that prints what it received: multi-dimensional and jagged
// arrays, the collections of System.Collections.Generic and System.Collections.Immutable, tuples, and records and
// structs made of them. Woven, each travels in a message (copied in memory, through RabbitMQ between hosts) and must
// arrive exactly, element order included. The handlers print, so they fuse into one group (the console); OnPop does
// not, so a stack also travels from one stage to another. The first calls pass types that cannot travel: not cut.
// OnLabel writes a field OnLabelled reads, of a type that cannot travel: it is shared (fused), never streamed.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;

static class Program
{
    static Label label = new();  // immutable but cannot travel: OnLabel and OnLabelled share it rather than stream it

    static void Main()
    {
        OnByPosition(new Dictionary<(int, int), string> { [(0, 1)] = "a" });  // WEAV012: tuple keys
        OnPoint(new FixedPoint(3, 4));                                       // WEAV012: a struct's read-only field
        OnHandle((nint)42);                                                  // WEAV012: a native integer
        OnBag(new ConcurrentBag<int> { 1 });                                 // WEAV012: an unsupported framework type

        OnGrid(Values.Grid());
        OnEmptyGrid(Values.EmptyGrid());
        OnCube(Values.Cube());
        OnJagged(Values.Jagged());
        OnSet(Values.Set());
        OnQueue(Values.Queue());
        OnStack(Values.Stack());
        OnSortedDictionary(Values.SortedDictionary());
        OnSortedList(Values.SortedList());
        OnSortedSet(Values.SortedSet());
        OnLinkedList(Values.LinkedList());
        OnImmutableArray(ImmutableArray.Create(3, 1, 2));
        OnDefaultImmutableArray(default);
        OnImmutableList(Values.ImmutableList());
        OnImmutableDictionary(Values.ImmutableDictionary());
        OnImmutableHashSet(Values.ImmutableHashSet());
        OnImmutableSorted(ImmutableSortedSet.Create(9, 7, 8), Values.ImmutableSortedDictionary());
        OnImmutableQueue(Values.ImmutableQueue());
        OnImmutableStack(Values.ImmutableStack());
        OnValueTuple((7, "seven", 7.5));
        OnNamedTuple(Values.NamedTuple());
        OnLongTuple((1, 2, 3, 4, 5, 6, 7, 8, 9));
        OnTuple(Tuple.Create(1, "one"), Values.Pair());
        OnNumbers((double.NaN, float.PositiveInfinity, -0.0, decimal.MaxValue, 'x'));
        OnMaybe((1, 2), null);
        OnInventory(Values.Inventory());
        OnCell(Values.Cell());
        OnNested(Values.Grids(), Values.Stacks());
        OnPop(Values.Numbers());
        OnLabel("labelled");
    }

    static void OnByPosition(Dictionary<(int, int), string> cells) => Console.WriteLine("by position " + cells[(0, 1)]);
    static void OnPoint(FixedPoint p) => Console.WriteLine($"point {p.X},{p.Y}");
    static void OnHandle(nint handle) => Console.WriteLine("handle " + handle);
    static void OnBag(ConcurrentBag<int> bag) => Console.WriteLine("bag " + bag.Count);

    static void OnGrid(int[,] grid) => Console.WriteLine("grid " + Show.Grid(grid));
    static void OnEmptyGrid(double[,] grid) => Console.WriteLine("empty grid " + Show.Grid(grid));
    static void OnCube(string[,,] cube) =>
        Console.WriteLine($"cube {cube.GetLength(0)}x{cube.GetLength(1)}x{cube.GetLength(2)} " + Show.Items(cube.Cast<string>()));
    static void OnJagged(int[][] rows) => Console.WriteLine("jagged " + string.Join(" | ", rows.Select(r => r is null ? "null" : Show.Items(r))));
    // A hash set enumerates in the order its slots were filled, which a copy made by adding in that order keeps.
    static void OnSet(HashSet<string> set) => Console.WriteLine("set " + Show.Items(set) + " has fig " + set.Contains("fig"));
    static void OnQueue(Queue<int> queue) => Console.WriteLine("queue " + Show.Items(queue) + " next " + queue.Peek());
    static void OnStack(Stack<string> stack) => Console.WriteLine("stack " + Show.Items(stack) + " top " + stack.Peek());
    static void OnPop(Stack<int> stack)
    {
        stack.Pop();
        stack.Push(stack.Pop() * 100);
        OnPopped(stack);
    }
    static void OnPopped(Stack<int> stack) => Console.WriteLine("popped " + Show.Items(stack));
    static void OnLabel(string text)
    {
        label = new Label(text);
        OnLabelled();
    }
    static void OnLabelled() => Console.WriteLine("label " + label);
    static void OnSortedDictionary(SortedDictionary<string, int> map)
    {
        map.Add("aa", 11);
        Console.WriteLine("sorted dictionary " + Show.Items(map));
    }
    static void OnSortedList(SortedList<int, string> list) => Console.WriteLine("sorted list " + Show.Items(list) + " key[1] " + list.Keys[1]);
    static void OnSortedSet(SortedSet<int> set) => Console.WriteLine("sorted set " + Show.Items(set) + " min " + set.Min);
    static void OnLinkedList(LinkedList<string> list) => Console.WriteLine("linked list " + Show.Items(list) + " last " + list.Last!.Value);
    static void OnImmutableArray(ImmutableArray<int> items) => Console.WriteLine("immutable array " + Show.Items(items) + " length " + items.Length);
    static void OnDefaultImmutableArray(ImmutableArray<int> items) => Console.WriteLine("default immutable array " + items.IsDefault);
    static void OnImmutableList(ImmutableList<string> items) => Console.WriteLine("immutable list " + Show.Items(items.Add("d")));
    // Immutable hash collections enumerate by hash code, which differs between processes: print them sorted.
    static void OnImmutableDictionary(ImmutableDictionary<string, int> map) =>
        Console.WriteLine("immutable dictionary " + Show.Items(map.OrderBy(p => p.Key, StringComparer.Ordinal)));
    static void OnImmutableHashSet(ImmutableHashSet<string> set) =>
        Console.WriteLine("immutable hash set " + Show.Items(set.Order(StringComparer.Ordinal)) + " has p " + set.Contains("p"));
    static void OnImmutableSorted(ImmutableSortedSet<int> set, ImmutableSortedDictionary<int, string> map) =>
        Console.WriteLine("immutable sorted " + Show.Items(set) + " / " + Show.Items(map));
    static void OnImmutableQueue(ImmutableQueue<int> queue) => Console.WriteLine("immutable queue " + Show.Items(queue) + " next " + queue.Peek());
    static void OnImmutableStack(ImmutableStack<string> stack) => Console.WriteLine("immutable stack " + Show.Items(stack) + " top " + stack.Peek());
    static void OnValueTuple((int Number, string Name, double Half) t) => Console.WriteLine($"value tuple {t.Number} {t.Name} {t.Half}");
    static void OnNamedTuple((string Name, List<int> Scores) entry)
    {
        entry.Scores.Add(70);
        Console.WriteLine($"named tuple {entry.Name} {Show.Items(entry.Scores)}");
    }
    static void OnLongTuple((int, int, int, int, int, int, int, int, int) t) => Console.WriteLine("long tuple " + t + " ninth " + t.Item9);
    static void OnTuple(Tuple<int, string> t, KeyValuePair<string, int[]> pair) =>
        Console.WriteLine($"tuple {t} pair {pair.Key}={Show.Items(pair.Value)}");
    static void OnNumbers((double NaN, float Infinity, double NegativeZero, decimal Max, char Letter) n) =>
        Console.WriteLine($"numbers {n.NaN} {n.Infinity} {1 / n.NegativeZero} {n.Max} {n.Letter}");
    static void OnMaybe((int, int)? some, (int, int)? none) => Console.WriteLine($"maybe {some} {none.HasValue}");
    static void OnInventory(Inventory inventory) =>
        Console.WriteLine($"inventory {Show.Items(inventory.Items)} at {inventory.At} history {Show.Items(inventory.History)}");
    static void OnCell(Cell cell) =>
        Console.WriteLine($"cell {Show.Grid(cell.Grid)} pending {Show.Items(cell.Pending)} at {cell.Position}");
    static void OnNested(Dictionary<string, int[,]> grids, List<Stack<int>> stacks) =>
        Console.WriteLine("nested " + string.Join(" ", grids.Select(g => g.Key + "=" + Show.Grid(g.Value))) + " " +
                          string.Join(" | ", stacks.Select(Show.Items)));
}

/// <summary>The values Main hands on, each made fresh by its own method, as a program's parser or model would.</summary>
static class Values
{
    public static int[,] Grid() => new int[,] { { 1, 2, 3 }, { 4, 5, 6 } };
    public static double[,] EmptyGrid() => new double[0, 4];
    public static string[,,] Cube() => new string[,,] { { { "a", "b" } }, { { "c", null } } };
    public static int[][] Jagged() => new int[][] { new[] { 1, 2 }, Array.Empty<int>(), null, new[] { 3 } };

    public static HashSet<string> Set()
    {
        var set = new HashSet<string> { "pear", "apple", "fig", "kiwi" };
        set.Remove("apple");
        set.Add("lime"); // fills the slot apple left: enumerated before fig
        return set;
    }

    public static Queue<int> Queue()
    {
        var queue = new Queue<int>(new[] { 1, 2, 3, 4 });
        queue.Dequeue();
        queue.Enqueue(5); // wraps around the queue's buffer
        return queue;
    }

    public static Stack<string> Stack()
    {
        var stack = new Stack<string>();
        stack.Push("bottom");
        stack.Push("middle");
        stack.Push("top");
        return stack;
    }

    public static Stack<int> Numbers() => new(new[] { 1, 2, 3 });
    public static SortedDictionary<string, int> SortedDictionary() => new() { ["b"] = 2, ["c"] = 3, ["a"] = 1 };
    public static SortedList<int, string> SortedList() => new() { [30] = "thirty", [10] = "ten", [20] = "twenty" };
    public static SortedSet<int> SortedSet() => new() { 5, 1, 3 };
    public static LinkedList<string> LinkedList() => new(new[] { "x", "y", "z" });
    public static ImmutableList<string> ImmutableList() => System.Collections.Immutable.ImmutableList.Create("b", "a", "c");
    public static ImmutableHashSet<string> ImmutableHashSet() => System.Collections.Immutable.ImmutableHashSet.Create("q", "p", "r");
    public static ImmutableStack<string> ImmutableStack() => System.Collections.Immutable.ImmutableStack.Create("bottom", "middle", "top");
    public static ImmutableDictionary<string, int> ImmutableDictionary() => ImmutableDictionary<string, int>.Empty.Add("two", 2).Add("one", 1);
    public static ImmutableSortedDictionary<int, string> ImmutableSortedDictionary() => ImmutableSortedDictionary<int, string>.Empty.Add(2, "b").Add(1, "a");
    public static ImmutableQueue<int> ImmutableQueue() => System.Collections.Immutable.ImmutableQueue.Create(1, 2, 3).Dequeue().Enqueue(4);
    public static (string Name, List<int> Scores) NamedTuple() => ("ada", new List<int> { 90, 85 });
    public static KeyValuePair<string, int[]> Pair() => new("k", new[] { 1, 2 });
    public static Inventory Inventory() => new(System.Collections.Immutable.ImmutableList.Create("rope", "lamp"), (2, 3), new Stack<int>(new[] { 10, 20 }));
    public static Cell Cell() => new() { Grid = new[,] { { 1 }, { 2 } }, Pending = new Queue<string>(new[] { "p1", "p2" }), Position = new Position(5, 6) };
    public static Dictionary<string, int[,]> Grids() => new() { ["id"] = new[,] { { 1, 0 }, { 0, 1 } } };
    public static List<Stack<int>> Stacks() => new() { new(new[] { 1, 2 }), new(new[] { 3 }) };
}

/// <summary>A deterministic rendering of what a handler received.</summary>
static class Show
{
    public static string Items<T>(IEnumerable<T> items) => "[" + string.Join(", ", items.Select(i => i?.ToString() ?? "null")) + "]";

    public static string Grid<T>(T[,] grid)
    {
        var rows = Enumerable.Range(0, grid.GetLength(0)).Select(r => Items(Enumerable.Range(0, grid.GetLength(1)).Select(c => grid[r, c])));
        return $"{grid.GetLength(0)}x{grid.GetLength(1)} {string.Join(" ", rows)}";
    }
}

public sealed record Inventory(ImmutableList<string> Items, (int X, int Y) At, Stack<int> History);

public readonly record struct Position(int X, int Y);

public struct Cell
{
    public int[,] Grid;
    public Queue<string> Pending;
    public Position Position;
}

// Immutable, but its text is private: a message would carry it empty.
public sealed class Label
{
    readonly string text;
    public Label() => text = "";
    public Label(string text) => this.text = text;
    public override string ToString() => text;
}

// The serializer creates a struct empty and sets what it can: a read-only field would arrive as zero.
public readonly struct FixedPoint(int x, int y)
{
    public readonly int X = x;
    public readonly int Y = y;
}
