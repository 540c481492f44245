using Mono.Cecil;
using Weaving.Fody.Plan;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Turns stages into groups (docs/design.md §3 and §4): stages sharing a field fuse; a fork inside a stage whose paths
/// join again fuses the diamond into the fork's group; groups are ranked so that back-pressure never waits around a
/// cycle; and the source gets drain barriers where two of its posts lead to one stage by different paths.
/// </summary>
public sealed class GroupResolver
{
    readonly Dictionary<MethodDefinition, MethodDefinition> parent = new();

    MethodDefinition Find(MethodDefinition m)
    {
        while (parent[m] != m) m = parent[m] = parent[parent[m]];
        return m;
    }

    bool Union(MethodDefinition a, MethodDefinition b)
    {
        var (ra, rb) = (Find(a), Find(b));
        if (ra == rb) return false;
        parent[rb] = ra;
        return true;
    }

    public sealed class Result
    {
        public Dictionary<MethodDefinition, int> GroupIndex { get; } = new();
        public List<List<MethodDefinition>> Groups { get; } = [];
        public List<string>[] Reasons { get; set; } = [];
        public int[] Ranks { get; set; } = [];
        public List<(MethodDefinition Before, MethodDefinition After)> Barriers { get; } = [];
        public List<Diagnostic> Diagnostics { get; } = [];
    }

    /// <param name="stages">In discovery order: a group is named after its first stage.</param>
    /// <param name="edges">Continuations between stages (caller stage, callee stage).</param>
    /// <param name="sourceTargets">Stages the source posts to.</param>
    /// <param name="sharedFields">Fields touched by several stages, with a sentence each for the fusion warning.</param>
    public Result Resolve(IReadOnlyList<MethodDefinition> stages, IReadOnlyCollection<(MethodDefinition From, MethodDefinition To)> edges,
        IReadOnlyList<MethodDefinition> sourceTargets,
        IEnumerable<(string Name, HashSet<MethodDefinition> Stages, string Detail, MethodDefinition At, Mono.Cecil.Cil.Instruction? AtInstruction)> sharedFields,
        MethodDefinition? source, Func<MethodDefinition, MethodDefinition, Mono.Cecil.Cil.Instruction?>? callAt = null)
    {
        var result = new Result();
        foreach (var s in stages) parent[s] = s;
        var reasons = new Dictionary<MethodDefinition, List<string>>();
        void Reason(MethodDefinition any, string why)
        {
            var root = Find(any);
            if (!reasons.TryGetValue(root, out var list)) reasons[root] = list = [];
            list.Add(why);
        }

        foreach (var (name, set, detail, at, atInstruction) in sharedFields)
        {
            var members = set.Where(parent.ContainsKey).OrderBy(m => IndexOf(stages, m)).ToList();
            if (members.Count < 2) continue;
            foreach (var m in members.Skip(1)) Union(members[0], m);
            var names = string.Join(", ", members.Select(m => m.Name));
            var why = $"{name} is used by {names}{detail}";
            Reason(members[0], why);
            var advice = name == "the console"
                ? "Their output keeps the order of the unwoven program. To run them in parallel, print from one stage (collect the results and print them in a handler called at the end)."
                : "To run them in parallel, give each stage its own state, or pass the value along in the messages.";
            result.Diagnostics.Add(SourceLocator.Diagnostic("WEAV021", Severity.Warning,
                $"Stages {names} are fused into one group: {why}. {advice}", at, atInstruction));
        }

        // Diamonds: a join whose two predecessor groups have a common ancestor other than the source.
        while (true)
        {
            var graph = GroupGraph(stages, edges);
            var fused = false;
            foreach (var join in graph.Keys)
            {
                var preds = graph.Where(kv => kv.Key != join && kv.Value.Contains(join)).Select(kv => kv.Key).ToList();
                if (preds.Count < 2) continue;
                var reach = graph.Keys.ToDictionary(g => g, g => Reach(graph, g));
                MethodDefinition? fork = null;
                foreach (var candidate in graph.Keys)
                {
                    var reaches = reach[candidate];
                    if (preds.Count(reaches.Contains) < 2) continue;
                    if (fork is null || reach[candidate].Count < reach[fork].Count) fork = candidate;
                }
                if (fork is null) continue;
                var members = graph.Keys.Where(g => reach[fork].Contains(g) && reach[g].Contains(join)).ToList();
                // Point at the call that starts a second path: a line that is the same in Debug and Release builds.
                var forking = edges.Where(e => Find(e.From) == Find(fork) && members.Contains(Find(e.To)) && Find(e.To) != Find(join))
                    .Select(e => (e.From, At: callAt?.Invoke(e.From, e.To)))
                    .OrderBy(e => e.At?.Offset ?? int.MaxValue)
                    .FirstOrDefault();
                foreach (var m in members) Union(fork, m);
                var names = string.Join(", ", stages.Where(s => members.Contains(Find(s)) || members.Any(g => Find(g) == Find(s))).Select(s => s.Name).Distinct());
                var why = $"{fork.Name} forks into paths that meet again at {join.Name}; fusing keeps their order";
                Reason(fork, why);
                result.Diagnostics.Add(SourceLocator.Diagnostic("WEAV022", Severity.Warning,
                    $"Stages {names} are fused into one group: {why} (ordering contract, joins).", forking.From ?? fork, forking.At));
                fused = true;
                break;
            }
            if (!fused) break;
        }

        // Groups, in stage discovery order.
        foreach (var s in stages)
        {
            var root = Find(s);
            if (!result.GroupIndex.TryGetValue(root, out var index))
            {
                index = result.Groups.Count;
                result.Groups.Add([]);
                result.GroupIndex[root] = index;
            }
            result.Groups[index].Add(s);
            result.GroupIndex[s] = index;
        }
        result.Reasons = result.Groups.Select(g => reasons.TryGetValue(Find(g[0]), out var r) ? r : new List<string>()).ToArray();

        // Ranks: topological order of the strongly connected components of the group graph.
        var finalGraph = GroupGraph(stages, edges);
        var sccs = Tarjan(finalGraph);
        result.Ranks = new int[result.Groups.Count];
        for (var i = 0; i < sccs.Count; i++)
            foreach (var g in sccs[i]) result.Ranks[result.GroupIndex[g]] = sccs.Count - 1 - i;

        // Source barriers.
        var groupReach = finalGraph.Keys.ToDictionary(g => g, g => Reach(finalGraph, g));
        bool OnCycle(MethodDefinition g) => finalGraph[g].Any(next => next != g && groupReach[next].Contains(g));
        foreach (var after in sourceTargets)
            foreach (var before in sourceTargets)
            {
                var (ga, gb) = (Find(after), Find(before));
                var conflict = ga == gb ? OnCycle(ga) : groupReach[ga].Overlaps(groupReach[gb]);
                if (!conflict) continue;
                result.Barriers.Add((before, after));
            }
        return result;
    }

    static int IndexOf(IReadOnlyList<MethodDefinition> stages, MethodDefinition m)
    {
        for (var i = 0; i < stages.Count; i++) if (stages[i] == m) return i;
        return int.MaxValue;
    }

    Dictionary<MethodDefinition, HashSet<MethodDefinition>> GroupGraph(IReadOnlyList<MethodDefinition> stages,
        IReadOnlyCollection<(MethodDefinition From, MethodDefinition To)> edges)
    {
        var graph = new Dictionary<MethodDefinition, HashSet<MethodDefinition>>();
        foreach (var s in stages) if (!graph.ContainsKey(Find(s))) graph[Find(s)] = [];
        foreach (var (from, to) in edges)
            if (parent.ContainsKey(from) && parent.ContainsKey(to)) graph[Find(from)].Add(Find(to));
        return graph;
    }

    static HashSet<MethodDefinition> Reach(Dictionary<MethodDefinition, HashSet<MethodDefinition>> graph, MethodDefinition from)
    {
        var seen = new HashSet<MethodDefinition> { from };
        var work = new Stack<MethodDefinition>();
        work.Push(from);
        while (work.Count > 0)
            foreach (var next in graph[work.Pop()])
                if (seen.Add(next)) work.Push(next);
        return seen;
    }

    // Tarjan's algorithm, iterative; yields components in reverse topological order.
    static List<List<MethodDefinition>> Tarjan(Dictionary<MethodDefinition, HashSet<MethodDefinition>> graph)
    {
        var index = new Dictionary<MethodDefinition, int>();
        var low = new Dictionary<MethodDefinition, int>();
        var onStack = new HashSet<MethodDefinition>();
        var stack = new Stack<MethodDefinition>();
        var result = new List<List<MethodDefinition>>();
        var counter = 0;
        foreach (var start in graph.Keys)
        {
            if (index.ContainsKey(start)) continue;
            var calls = new Stack<(MethodDefinition Node, IEnumerator<MethodDefinition> Next)>();
            void Enter(MethodDefinition n)
            {
                index[n] = low[n] = counter++;
                stack.Push(n);
                onStack.Add(n);
                calls.Push((n, graph[n].GetEnumerator()));
            }
            Enter(start);
            while (calls.Count > 0)
            {
                var (node, next) = calls.Peek();
                if (next.MoveNext())
                {
                    var w = next.Current;
                    if (!index.ContainsKey(w)) Enter(w);
                    else if (onStack.Contains(w)) low[node] = Math.Min(low[node], index[w]);
                    continue;
                }
                calls.Pop();
                if (calls.Count > 0) low[calls.Peek().Node] = Math.Min(low[calls.Peek().Node], low[node]);
                if (low[node] != index[node]) continue;
                var component = new List<MethodDefinition>();
                MethodDefinition x;
                do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != node);
                result.Add(component);
            }
        }
        return result;
    }
}
