using Mono.Cecil;

namespace Weaving.Fody.Rewriting;

/// <summary>Every reference the woven code needs, imported into the module once and kept.</summary>
public sealed class RuntimeReferences
{
    public RuntimeReferences(ModuleDefinition module, Func<string, TypeDefinition> findType)
    {
        TypeReference Type(string name) => module.ImportReference(findType(name));
        MethodReference Method(string type, string name, int parameters, string? firstParameter = null) =>
            module.ImportReference(findType(type).Methods.First(m => m.Name == name && m.Parameters.Count == parameters
                && (firstParameter is null || m.Parameters[0].ParameterType.FullName == firstParameter)));
        MethodReference Constructor(string type, int parameters) => Method(type, ".ctor", parameters);

        StageMessage = Type("Weaving.StageMessage");
        StageMessageConstructor = Constructor("Weaving.StageMessage", 0);
        Post = Method("Weaving.Pipeline", "Post", 1);
        SyncState = Method("Weaving.Pipeline", "SyncState", 1);
        Drain = Method("Weaving.Pipeline", "Drain", 0);
        StateSnapshot = Type("Weaving.StateSnapshot");
        StateSnapshotConstructor = Constructor("Weaving.StateSnapshot", 0);
        StateSnapshotCapture = Method("Weaving.StateSnapshot", "Capture", 0);
        StateSnapshotApply = Method("Weaving.StateSnapshot", "Apply", 0);
        StageKind = Type("Weaving.StageKind");
        StageRoute = Type("Weaving.StageRoute");
        TryRunInline = Method("Weaving.Pipeline", "TryRunInline", 1);
        InlineReturned = Method("Weaving.Pipeline", "InlineReturned", 1);
        InlineFailed = Method("Weaving.Pipeline", "InlineFailed", 2);
        StageRouteFieldName = findType("Weaving.StageRoute").Fields.First(f => f.Name == "FieldName").Constant as string ?? "<Route>";
        Exception = Type("System.Exception");
        StartSource = Method("Weaving.Pipeline", "StartSource", 2);
        WovenAppDescription = Type("Weaving.Woven.WovenAppDescription");
        WovenAppDescriptionConstructor = Constructor("Weaving.Woven.WovenAppDescription", 2);
        DescribeGroup = Method("Weaving.Woven.WovenAppDescription", "Group", 3);
        DescribeStage = Method("Weaving.Woven.WovenAppDescription", "Stage", 7);
        FinishSourceVoid = Method("Weaving.Pipeline", "FinishSource", 0);
        FinishSourceInt = Method("Weaving.Pipeline", "FinishSource", 1);
        WovenAssemblyConstructor = Constructor("Weaving.Woven.WovenAssemblyAttribute", 2);
        WovenGroupConstructor = Constructor("Weaving.Woven.WovenGroupAttribute", 3);
        // The constructor that takes the message type's name: a Type argument would be parsed at every start-up.
        WovenStageConstructor = module.ImportReference(findType("Weaving.Woven.WovenStageAttribute").Methods.First(m =>
            m.IsConstructor && m.Parameters.Count == 5 && m.Parameters[2].ParameterType.FullName == "System.String"));
        BeginAsyncHandler = Method("Weaving.AsyncHandlers", "Begin", 0);
        WaitTask = Method("Weaving.AsyncHandlers", "Wait", 2, "System.Threading.Tasks.Task");
        WaitValueTask = Method("Weaving.AsyncHandlers", "Wait", 2, "System.Threading.Tasks.ValueTask");
        SynchronizationContext = Type("System.Threading.SynchronizationContext");
        PostedTask = Method("Weaving.AsyncHandlers", "Posted", 0);
        PostedValueTask = Method("Weaving.AsyncHandlers", "PostedValue", 0);
        GetUninitializedObject = Method("System.Runtime.CompilerServices.RuntimeHelpers", "GetUninitializedObject", 1);
        SystemType = Type("System.Type");
        GetTypeFromHandle = Method("System.Type", "GetTypeFromHandle", 1);
        ObjectConstructor = Constructor("System.Object", 0);
        CompilerGeneratedConstructor = Constructor("System.Runtime.CompilerServices.CompilerGeneratedAttribute", 0);
        RuntimeVersion = findType("Weaving.Pipeline").Module.Assembly.Name.Version?.ToString() ?? "0.0.0.0";
    }

    public TypeReference StageMessage { get; }
    public MethodReference StageMessageConstructor { get; }
    public MethodReference Post { get; }
    public MethodReference SyncState { get; }
    public MethodReference Drain { get; }
    public TypeReference StateSnapshot { get; }
    public MethodReference StateSnapshotConstructor { get; }
    public MethodReference StateSnapshotCapture { get; }
    public MethodReference StateSnapshotApply { get; }
    public TypeReference StageKind { get; }
    public TypeReference StageRoute { get; }
    /// <summary>Name of the static field, in each message type, that holds the stage's route.</summary>
    public string StageRouteFieldName { get; }
    public MethodReference TryRunInline { get; }
    public MethodReference InlineReturned { get; }
    public MethodReference InlineFailed { get; }
    public TypeReference Exception { get; }
    /// <summary>Pipeline.StartSource(Type, WovenAppDescription).</summary>
    public MethodReference StartSource { get; }
    public TypeReference WovenAppDescription { get; }
    public MethodReference WovenAppDescriptionConstructor { get; }
    public MethodReference DescribeGroup { get; }
    public MethodReference DescribeStage { get; }
    public MethodReference FinishSourceVoid { get; }
    public MethodReference FinishSourceInt { get; }
    public MethodReference WovenAssemblyConstructor { get; }
    public MethodReference WovenGroupConstructor { get; }
    public MethodReference WovenStageConstructor { get; }
    public MethodReference BeginAsyncHandler { get; }
    public TypeReference SynchronizationContext { get; }
    public MethodReference WaitTask { get; }
    public MethodReference WaitValueTask { get; }
    public MethodReference PostedTask { get; }
    public MethodReference PostedValueTask { get; }
    public MethodReference GetUninitializedObject { get; }
    public TypeReference SystemType { get; }
    public MethodReference GetTypeFromHandle { get; }
    public MethodReference ObjectConstructor { get; }
    public MethodReference CompilerGeneratedConstructor { get; }
    /// <summary>Version of the Weaver.dll the module is woven against.</summary>
    public string RuntimeVersion { get; }

    public void MarkGenerated(ICustomAttributeProvider member) =>
        member.CustomAttributes.Add(new CustomAttribute(CompilerGeneratedConstructor));
}
