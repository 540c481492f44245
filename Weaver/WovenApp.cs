using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Reflection;
using Weaving.Woven;

namespace Weaving;

/// <summary>A woven assembly as the runtime sees it: its stages and groups, read from the attributes the weaver emitted.</summary>
public sealed class WovenApp
{
    /// <summary>Name of the embedded resource that holds the stage map JSON.</summary>
    public const string StageMapResourceName = "Weaving.stages.json";

    static readonly ConcurrentDictionary<Assembly, WovenApp?> loaded = new();

    // Looked up on every post: frozen, since the stages never change after load.
    readonly FrozenDictionary<Type, StageInfo> stagesByMessageType;
    readonly Dictionary<string, StageInfo> stagesByName;
    readonly Dictionary<string, GroupInfo> groupsByName;

    WovenApp(Assembly assembly, WovenAssemblyAttribute woven)
    {
        Assembly = assembly;
        Name = assembly.GetName().Name!;
        BuildHash = woven.BuildHash;
        RuntimeVersion = woven.RuntimeVersion;

        Groups = assembly.GetCustomAttributes<WovenGroupAttribute>()
            .OrderBy(g => g.Rank).ThenBy(g => g.Name, StringComparer.Ordinal)
            .Select(g => new GroupInfo(g.Name, g.Rank, g.OwnsState))
            .ToArray();
        groupsByName = Groups.ToDictionary(g => g.Name, StringComparer.Ordinal);

        var stages = new List<StageInfo>();
        foreach (var s in assembly.GetCustomAttributes<WovenStageAttribute>().OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            if (!groupsByName.TryGetValue(s.Group, out var group))
                throw new InvalidOperationException($"{Name}: stage '{s.Name}' names group '{s.Group}', which the assembly does not declare. The woven assembly is damaged; rebuild it.");
            var stage = new StageInfo(s.Name, group, s.MessageType, s.CopyArguments, s.BarrierAfter) { Kind = s.Kind, SeedNames = s.Seeds };
            group.AddStage(stage);
            stages.Add(stage);
        }
        Stages = stages;
        stagesByMessageType = stages.ToFrozenDictionary(s => s.MessageType);
        stagesByName = stages.ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var stage in stages)
            stage.ResolveBarriers(stagesByName);
    }

    public Assembly Assembly { get; }
    public string Name { get; }
    public string BuildHash { get; }
    /// <summary>Version of Weaver.dll the assembly was woven against.</summary>
    public string RuntimeVersion { get; }
    public IReadOnlyList<StageInfo> Stages { get; }
    public IReadOnlyList<GroupInfo> Groups { get; }

    /// <summary>The woven app in <paramref name="assembly"/>, or null when the assembly was not woven.</summary>
    public static WovenApp? TryLoad(Assembly assembly) => loaded.GetOrAdd(assembly, static a =>
    {
        var woven = a.GetCustomAttribute<WovenAssemblyAttribute>();
        return woven is null ? null : new WovenApp(a, woven);
    });

    /// <summary>Version of this runtime, as the weaver records it in woven assemblies.</summary>
    public static string CurrentRuntimeVersion { get; } =
        typeof(WovenApp).Assembly.GetName().Version?.ToString() ?? "0.0.0.0";

    public StageInfo StageOf(Type messageType) =>
        stagesByMessageType.TryGetValue(messageType, out var stage)
            ? stage
            : throw new InvalidOperationException($"{messageType.FullName} is not a message type of {Name}.");

    public StageInfo? FindStage(string name) => stagesByName.GetValueOrDefault(name);
    public GroupInfo? FindGroup(string name) => groupsByName.GetValueOrDefault(name);

    /// <summary>The stage map JSON embedded by the weaver.</summary>
    public string ReadStageMap()
    {
        using var stream = Assembly.GetManifestResourceStream(StageMapResourceName)
            ?? throw new InvalidOperationException($"{Name} has no embedded stage map.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

public sealed class GroupInfo(string name, int rank, bool ownsState)
{
    readonly List<StageInfo> stages = [];
    public string Name { get; } = name;
    public int Rank { get; } = rank;
    public bool OwnsState { get; } = ownsState;
    public IReadOnlyList<StageInfo> Stages => stages;
    /// <summary>The stage that captures the state the source reads after its posts, if the source reads any.</summary>
    public StageInfo? ResultsStage => stages.FirstOrDefault(s => s.Kind == StageKind.Results);
    internal void AddStage(StageInfo stage) => stages.Add(stage);
    public override string ToString() => Name;
}

public sealed class StageInfo(string name, GroupInfo group, Type messageType, bool copyArguments, string[] barrierAfter)
{
    public string Name { get; } = name;
    public GroupInfo Group { get; } = group;
    public Type MessageType { get; } = messageType;
    /// <summary>The message holds mutable objects: in memory it is copied, as a broker would.</summary>
    public bool CopyArguments { get; } = copyArguments;
    /// <summary>Stages after which the source must drain before posting here.</summary>
    public IReadOnlyList<StageInfo> BarrierAfter { get; private set; } = [];
    /// <summary>A handler's stage, or one that exchanges state with the source.</summary>
    public StageKind Kind { get; init; }
    /// <summary>Seed stages to send before the source's first post here in a run, when groups run in other processes.</summary>
    public IReadOnlyList<StageInfo> Seeds { get; private set; } = [];
    internal string[] SeedNames { get; init; } = [];
    /// <summary>Set once the seeds were sent in this run (see Pipeline.Post).</summary>
    internal volatile bool Seeded;

    /// <summary>The source posted here since its last drain (the join rule's bookkeeping; see Pipeline.Post).</summary>
    internal volatile bool PostedSinceDrain;

    internal void ResolveBarriers(Dictionary<string, StageInfo> byName)
    {
        StageInfo Find(string n) => byName.TryGetValue(n, out var s) ? s
            : throw new InvalidOperationException($"stage '{Name}' names unknown stage '{n}'. The woven assembly is damaged; rebuild it.");
        BarrierAfter = barrierAfter.Select(Find).ToArray();
        Seeds = SeedNames.Select(Find).ToArray();
    }

    public override string ToString() => Name;
}
