using System.Reflection;
using Weaving.Woven;

namespace Weaving;

/// <summary>A woven assembly as the runtime sees it: its stages and groups, read from the attributes the weaver emitted.</summary>
public sealed class WovenApp
{
    /// <summary>Name of the embedded resource that holds the stage map JSON.</summary>
    public const string StageMapResourceName = "Weaving.stages.json";

    // Plain collections and loops here, no LINQ, frozen or concurrent dictionaries: each costs a woven program's start-up
    // an assembly to load or generic code to compile, which a program that never hops would pay for nothing.
    static readonly Dictionary<Assembly, WovenApp?> loaded = [];

    // By name: the stages' types are resolved only when needed (see WovenStageAttribute).
    readonly Dictionary<string, StageInfo> stagesByMessageType = new(StringComparer.Ordinal);
    readonly Dictionary<string, StageInfo> stagesByName;
    readonly Dictionary<string, GroupInfo> groupsByName;

    WovenApp(Assembly assembly, string buildHash, string runtimeVersion, List<GroupInfo> groups, List<StageDeclaration> declared)
    {
        Assembly = assembly;
        Name = SimpleName(assembly);
        BuildHash = buildHash;
        RuntimeVersion = runtimeVersion;

        groups.Sort((a, b) => a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank) : string.CompareOrdinal(a.Name, b.Name));
        Groups = groups;
        groupsByName = new Dictionary<string, GroupInfo>(StringComparer.Ordinal);
        foreach (var group in groups) groupsByName.Add(group.Name, group);

        declared.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var stages = new List<StageInfo>();
        stagesByName = new Dictionary<string, StageInfo>(StringComparer.Ordinal);
        foreach (var s in declared)
        {
            if (!groupsByName.TryGetValue(s.Group, out var group))
                throw new InvalidOperationException($"{Name}: stage '{s.Name}' names group '{s.Group}', which the assembly does not declare. The woven assembly is damaged; rebuild it.");
            var stage = new StageInfo(s.Name, group, assembly, s.MessageTypeName, s.MessageType, s.CopyArguments, s.BarrierAfter)
                { Kind = s.Kind, SeedNames = s.Seeds, Route = s.Route };
            if (s.Route is { } route) route.Stage = stage;
            group.AddStage(stage);
            stages.Add(stage);
            stagesByMessageType.Add(s.MessageTypeName, stage);
            stagesByName.Add(stage.Name, stage);
        }
        Stages = stages;
        foreach (var stage in stages)
            stage.ResolveBarriers(stagesByName);
    }

    // The simple name, read from the display name ("Name, Version=…, Culture=…"): Assembly.GetName() would make an
    // AssemblyName, and with it a Version and a CultureInfo, at every woven program's start (a score of types to load
    // that the unwoven program does not). A name with an escaped comma in it is left to GetName.
    static string SimpleName(Assembly assembly)
    {
        var full = assembly.FullName ?? "";
        var comma = full.IndexOf(',');
        return full.Contains('\\') ? assembly.GetName().Name! : comma < 0 ? full : full[..comma];
    }

    static WovenApp FromAttributes(Assembly assembly, WovenAssemblyAttribute woven)
    {
        var groups = new List<GroupInfo>();
        foreach (var g in assembly.GetCustomAttributes<WovenGroupAttribute>()) groups.Add(new GroupInfo(g.Name, g.Rank, g.OwnsState));
        var stages = new List<StageDeclaration>();
        foreach (var s in assembly.GetCustomAttributes<WovenStageAttribute>()) stages.Add(StageDeclaration.Of(s));
        return new WovenApp(assembly, woven.BuildHash, woven.RuntimeVersion, groups, stages);
    }

    public Assembly Assembly { get; }
    public string Name { get; }
    public string BuildHash { get; }
    /// <summary>Version of Weaver.dll the assembly was woven against.</summary>
    public string RuntimeVersion { get; }
    public IReadOnlyList<StageInfo> Stages { get; }
    public IReadOnlyList<GroupInfo> Groups { get; }

    /// <summary>The woven app in <paramref name="assembly"/>, or null when the assembly was not woven.</summary>
    public static WovenApp? TryLoad(Assembly assembly)
    {
        lock (loaded)
        {
            if (loaded.TryGetValue(assembly, out var app)) return app;
            var woven = assembly.GetCustomAttribute<WovenAssemblyAttribute>();
            app = woven is null ? null : FromAttributes(assembly, woven);
            loaded.Add(assembly, app);
            return app;
        }
    }

    /// <summary>
    /// The woven app in <paramref name="assembly"/>, from the <paramref name="description"/> its entry point built (the
    /// same as its attributes say), or the one already loaded for it (a host read its attributes, or this is not the
    /// entry point's first run in the process).
    /// </summary>
    public static WovenApp Load(Assembly assembly, WovenAppDescription description)
    {
        lock (loaded)
        {
            if (loaded.TryGetValue(assembly, out var app) && app is not null)
            {
                // The entry point stored this description's routes in its message types: they lead where the app's do.
                foreach (var declared in description.Stages)
                    if (declared.Route is { } route && app.FindStage(declared.Name) is { } stage)
                        (route.Stage, route.Worker) = (stage, stage.Route?.Worker);
                return app;
            }
            app = new WovenApp(assembly, description.BuildHash, description.RuntimeVersion, description.Groups, description.Stages);
            loaded[assembly] = app;
            return app;
        }
    }

    /// <summary>Version of this runtime, as the weaver records it in woven assemblies.</summary>
    public static string CurrentRuntimeVersion => currentRuntimeVersion ??=
        typeof(WovenApp).Assembly.GetName().Version?.ToString() ?? "0.0.0.0";

    // On demand: only hosts compare versions, and a program started in memory need not pay for the assembly's name.
    static string? currentRuntimeVersion;

    public StageInfo StageOf(Type messageType) =>
        messageType.Assembly == Assembly && stagesByMessageType.TryGetValue(messageType.FullName!, out var stage)
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
    /// <summary>
    /// The snapshot of everything the group holds, when all of it can be written with the message codec; null when the
    /// group owns no state, or holds something that cannot be written (the build warned, WEAV029).
    /// </summary>
    public StageInfo? CheckpointStage => stages.FirstOrDefault(s => s.Kind == StageKind.Checkpoint);
    internal void AddStage(StageInfo stage) => stages.Add(stage);
    public override string ToString() => Name;
}

public sealed class StageInfo(string name, GroupInfo group, Assembly assembly, string messageTypeName, Type? messageType,
    bool copyArguments, string[] barrierAfter)
{
    Type? messageType = messageType;

    public string Name { get; } = name;
    public GroupInfo Group { get; } = group;
    /// <summary>The generated message type, resolved by name on first use.</summary>
    public Type MessageType => messageType ??= assembly.GetType(messageTypeName, throwOnError: true)!;
    public string MessageTypeName => messageTypeName;
    /// <summary>The message holds mutable objects: in memory it is copied, as a broker would.</summary>
    public bool CopyArguments { get; } = copyArguments;
    /// <summary>Stages after which the source must drain before posting here.</summary>
    public IReadOnlyList<StageInfo> BarrierAfter => barriers;

    // An array, so that the source's check on every post enumerates without allocating.
    StageInfo[] barriers = [];
    internal StageInfo[] Barriers => barriers;

    /// <summary>Where the in-memory transport runs this stage's posts: made by the entry point's description, or on the
    /// stage's first post (see Pipeline.Post).</summary>
    internal StageRoute? Route { get => route; init => route = value; }
    volatile StageRoute? route;
    internal void SetRoute(StageRoute value) => route = value;
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
        var resolved = new StageInfo[barrierAfter.Length];
        for (var i = 0; i < resolved.Length; i++) resolved[i] = Find(barrierAfter[i]);
        barriers = resolved;
        var seeds = new StageInfo[SeedNames.Length];
        for (var i = 0; i < seeds.Length; i++) seeds[i] = Find(SeedNames[i]);
        Seeds = seeds;
    }

    public override string ToString() => Name;
}
