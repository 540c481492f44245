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

/// <summary>A stage: a handler whose calls were cut, with its generated message type.</summary>
/// <param name="copyArguments">The message holds mutable objects, so in memory it is copied as the broker would.</param>
/// <param name="barrierAfter">Stages which, when the source posted to them since the last drain, make the source drain
/// before posting to this one (the join rule of the ordering contract).</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class WovenStageAttribute(string name, string group, Type messageType, bool copyArguments, string[] barrierAfter) : Attribute
{
    public string Name { get; } = name;
    public string Group { get; } = group;
    public Type MessageType { get; } = messageType;
    public bool CopyArguments { get; } = copyArguments;
    public string[] BarrierAfter { get; } = barrierAfter;
    /// <summary>A handler's stage, or one that exchanges state with the source.</summary>
    public StageKind Kind { get; set; }
    /// <summary>Seed stages whose snapshot the source sends before its first post here in a run (across processes).</summary>
    public string[] Seeds { get; set; } = [];
}
