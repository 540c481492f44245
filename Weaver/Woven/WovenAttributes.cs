namespace Weaving.Woven;

// Emitted by the weaver into the woven assembly; read back by WovenApp. Not for hand use.

/// <summary>Marks an assembly as woven: the hash of the woven build and the runtime version it was woven against.</summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class WovenAssemblyAttribute(string buildHash, string runtimeVersion) : Attribute
{
    public string BuildHash { get; } = buildHash;
    public string RuntimeVersion { get; } = runtimeVersion;
}

/// <summary>A stage group: the stages that share one state object and one worker.</summary>
/// <param name="rank">Topological rank of the group among strongly connected components;
/// a post only ever blocks on a full queue when it goes to a strictly higher rank, so cycles cannot deadlock.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class WovenGroupAttribute(string name, int rank, bool ownsState) : Attribute
{
    public string Name { get; } = name;
    public int Rank { get; } = rank;
    public bool OwnsState { get; } = ownsState;
}

/// <summary>A stage: a handler whose calls were cut, with its generated message type. <see cref="CopyArguments"/>: the
/// message holds mutable objects, so in memory it is copied as the broker would. <see cref="BarrierAfter"/>: stages which,
/// when the source posted to them since the last drain, make the source drain before posting to this one (the join rule
/// of the ordering contract).</summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class WovenStageAttribute : Attribute
{
    /// <summary>The message type by its name in the woven assembly (<c>Program+&lt;OnWord&gt;Message</c>), as the weaver
    /// emits it: reading a <see cref="Type"/> from an attribute parses its name, which costs a program's start-up a few
    /// milliseconds and megabytes; a name is resolved only when a message of the stage is read from a broker.</summary>
    public WovenStageAttribute(string name, string group, string messageTypeName, bool copyArguments, string[] barrierAfter)
    {
        Name = name;
        Group = group;
        MessageTypeName = messageTypeName;
        CopyArguments = copyArguments;
        BarrierAfter = barrierAfter;
    }

    /// <summary>The message type itself, for code written by hand.</summary>
    public WovenStageAttribute(string name, string group, Type messageType, bool copyArguments, string[] barrierAfter)
        : this(name, group, messageType.FullName!, copyArguments, barrierAfter) => MessageType = messageType;

    public string Name { get; }
    public string Group { get; }
    public string MessageTypeName { get; }
    public Type? MessageType { get; }
    public bool CopyArguments { get; }
    public string[] BarrierAfter { get; }
    /// <summary>A handler's stage, or one that exchanges state with the source.</summary>
    public StageKind Kind { get; set; }
    /// <summary>Seed stages whose snapshot the source sends before its first post here in a run (across processes).</summary>
    public string[] Seeds { get; set; } = [];
}

/// <summary>
/// What the assembly attributes above say, written by the weaver as code: a woven entry point builds it and hands it to
/// <see cref="Pipeline.StartSource(Type, WovenAppDescription)"/>, so that a program starting in memory reads no custom
/// attribute. Reading them is the runtime's largest start-up cost: the reflection behind the first one, and the enum type
/// of a named argument, parsed by name, are milliseconds each. Hosts and libraries still read the attributes.
/// </summary>
public sealed class WovenAppDescription(string buildHash, string runtimeVersion)
{
    internal string BuildHash { get; } = buildHash;
    internal string RuntimeVersion { get; } = runtimeVersion;
    internal List<GroupInfo> Groups { get; } = [];
    internal List<StageDeclaration> Stages { get; } = [];

    /// <summary>As <see cref="WovenGroupAttribute"/>.</summary>
    public void Group(string name, int rank, bool ownsState) => Groups.Add(new GroupInfo(name, rank, ownsState));

    /// <summary>As <see cref="WovenStageAttribute"/>, its named arguments included. Returns the stage's route, which
    /// the entry point stores in the message type's <see cref="StageRoute.FieldName"/> field (no reflection at start-up).</summary>
    public StageRoute Stage(string name, string group, string messageTypeName, bool copyArguments, string[] barrierAfter,
        StageKind kind, string[] seeds)
    {
        var route = new StageRoute();
        Stages.Add(new StageDeclaration(name, group, messageTypeName, null, copyArguments, barrierAfter, kind, seeds) { Route = route });
        return route;
    }
}

/// <summary>A stage as declared by the weaver, in an attribute or a <see cref="WovenAppDescription"/>.</summary>
record StageDeclaration(string Name, string Group, string MessageTypeName, Type? MessageType, bool CopyArguments,
    string[] BarrierAfter, StageKind Kind, string[] Seeds)
{
    /// <summary>The route a description made for the stage, if it did.</summary>
    public StageRoute? Route { get; init; }

    public static StageDeclaration Of(WovenStageAttribute s) =>
        new(s.Name, s.Group, s.MessageTypeName, s.MessageType, s.CopyArguments, s.BarrierAfter, s.Kind, s.Seeds);
}
