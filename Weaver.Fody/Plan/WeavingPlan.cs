using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Weaving.Fody.Plan;

// The plan is what analysis decides and rewriting carries out; the stage map is printed from it.
// Plain data: tests assert on it without reading IL.

public enum Placement { Constant, Frozen, Owned, Streamed, Shared }

public enum Severity { Info, Warning, Error }

public sealed class Diagnostic(string id, Severity severity, string message, string? file, int line, SequencePoint? point)
{
    public string Id { get; } = id;
    public Severity Severity { get; } = severity;
    public string Message { get; } = message;
    public string? File { get; } = file;
    public int Line { get; } = line;
    /// <summary>For Fody, which turns it into an MSBuild warning at the user's source line.</summary>
    public SequencePoint? SequencePoint { get; } = point;
    public override string ToString() => $"{(File is null ? "" : $"{System.IO.Path.GetFileName(File)}({Line}): ")}{Id}: {Message}";
}

public sealed class Stage(string name, MethodDefinition handler)
{
    public string Name { get; } = name;
    public MethodDefinition Handler { get; } = handler;
    public string Method { get; } = handler.DeclaringType.FullName + "." + handler.Name;
    public Group Group { get; set; } = null!;
    /// <summary>
    /// Parameters that do not travel: one the handler never reads gets its default value (null here); one every call
    /// passes the object of a static field gets that field's object where the handler runs.
    /// </summary>
    public Dictionary<int, FieldDefinition?> Supplied { get; } = new();
    /// <summary>For an instance handler: the static field whose object it runs on (set by its type's initializer).</summary>
    public FieldDefinition? Receiver { get; set; }
    /// <summary>The message holds objects the receiver could mutate: in memory it is copied, as a broker would.</summary>
    public bool CopyArguments { get; set; }
    /// <summary>Stages the source may have posted to that force a drain before the source posts here.</summary>
    public List<Stage> BarrierAfter { get; } = [];
    /// <summary>Stages this one hands work to.</summary>
    public List<Stage> Next { get; } = [];
    /// <summary>Streamed fields whose value this stage's messages carry (the stage reads them, or forwards them).</summary>
    public List<FieldPlan> Carries { get; } = [];
    /// <summary>Groups that must receive what the source set up before the source's first post here (across processes).</summary>
    public List<Group> Seeds { get; } = [];
    /// <summary>Static members of other assemblies the stage calls (console, files, clocks...).</summary>
    public SortedSet<string> ExternalCalls { get; } = new(StringComparer.Ordinal);
    public override string ToString() => Name;
}

public sealed class Group(string name)
{
    public string Name { get; set; } = name;
    public List<Stage> Stages { get; } = [];
    public int Rank { get; set; }
    public List<FieldPlan> OwnedFields { get; } = [];
    /// <summary>
    /// The group keeps something one host must hold: moved fields, or what the source set up (a seed reaches one host),
    /// so across processes it runs on one host at a time.
    /// </summary>
    public bool OwnsState => OwnedFields.Count > 0 || Seeded.Count > 0;
    /// <summary>Streamed fields of which this group keeps a copy, set from each message before its handler runs.</summary>
    public List<FieldPlan> StreamedCopies { get; } = [];
    /// <summary>Fields whose value the source sets up and the group's stages use: frozen fields, and state the source initialises.</summary>
    public List<FieldPlan> Seeded { get; } = [];
    /// <summary>State fields the source reads once the group's work has finished.</summary>
    public List<FieldPlan> Results { get; } = [];
    /// <summary>What a checkpoint of the group holds (its owned and seeded fields); empty when it keeps none (WEAV029).</summary>
    public List<FieldPlan> Checkpoint { get; } = [];
    /// <summary>Why the stages were fused, one sentence each.</summary>
    public List<string> FusionReasons { get; } = [];
    public override string ToString() => Name;
}

public sealed class FieldPlan(FieldDefinition field, Placement placement, Group? group, string reason)
{
    public FieldDefinition Field { get; } = field;
    // Kept at creation: rewriting removes moved fields from their type.
    public string Name { get; } = field.DeclaringType.FullName + "." + field.Name;
    public Placement Placement { get; set; } = placement;
    /// <summary>The owning group (owned) or the fused group (shared); null for constants and source-only fields.</summary>
    public Group? Group { get; set; } = group;
    /// <summary>The field moves into the group's state object (false: it stays static, e.g. its type is private to another class).</summary>
    public bool Moves { get; set; }
    /// <summary>The field holds the object instance handlers run on: its value travels as these instance fields.</summary>
    public List<FieldDefinition>? ObjectState { get; set; }
    public string Reason { get; set; } = reason;
    /// <summary>Streamed: the one stage that writes it (its group keeps the field), the stages that read it, and every
    /// stage whose messages carry its value (the readers and the stages between).</summary>
    public Stage? Writer { get; set; }
    public List<Stage> Readers { get; } = [];
    public List<Stage> Carriers { get; } = [];
    /// <summary>The source sets the field up before its posts (frozen fields, state it initialises).</summary>
    public bool SetUpBySource { get; set; }
    /// <summary>Where the source reads the field after its posts: it first waits for the group's work (and fetches its state).</summary>
    public List<Instruction> SourceReadsAfterPosts { get; } = [];
    /// <summary>Streamed: which group's copy each method that touches the field uses; any other method uses the writer's.</summary>
    public Dictionary<MethodDefinition, Group> CopyUsedBy { get; } = new();
}

/// <summary>A call from the source or a stage to a handler: cut (a continuation), or kept synchronous for a typed reason.</summary>
public sealed class CallSite(MethodDefinition caller, Instruction instruction, MethodDefinition callee, CutReason? why)
{
    public MethodDefinition Caller { get; } = caller;
    public Instruction Instruction { get; } = instruction;
    public MethodDefinition Callee { get; } = callee;
    public bool Cut => Why is null;
    /// <summary>Why the call stays synchronous; null when it is cut.</summary>
    public CutReason? Why { get; } = why;
    public string? File { get; set; }
    public int Line { get; set; }
}

public sealed class WeavingPlan
{
    public string AssemblyName { get; set; } = "";
    /// <summary>The method whose code is the source: the entry point, or the body of an async Main (its MoveNext).</summary>
    public MethodDefinition? Source { get; set; }
    /// <summary>The assembly's entry point: where the pipeline starts and drains (an async Main's compiler-made wrapper).</summary>
    public MethodDefinition? EntryPoint { get; set; }
    /// <summary>The async methods whose bodies (state machine MoveNext methods) make calls in the plan, by body.</summary>
    public Dictionary<MethodDefinition, MethodDefinition> AsyncMethods { get; } = new();
    public List<Stage> Stages { get; } = [];
    public List<Group> Groups { get; } = [];
    public List<FieldPlan> Fields { get; } = [];
    public List<CallSite> CallSites { get; } = [];
    public List<Diagnostic> Diagnostics { get; } = [];
    /// <summary>Where the source uses the console after posts to stages that print: it waits for their work there first.</summary>
    public List<Instruction> SourceConsoleDrains { get; } = [];
    /// <summary>Source posts that wait for a drain first: (earlier stage, later stage).</summary>
    public List<(Stage Before, Stage After)> Barriers { get; } = [];

    /// <summary>The stage a method is the handler of, or the body of (an async handler's MoveNext).</summary>
    public Stage? StageOf(MethodDefinition handler)
    {
        var written = Written(handler);
        return Stages.FirstOrDefault(s => s.Handler == written);
    }

    /// <summary>A method as the user wrote it: the async method for its state machine's MoveNext.</summary>
    public MethodDefinition Written(MethodDefinition method) => AsyncMethods.TryGetValue(method, out var written) ? written : method;

    /// <summary>"Type.Method" as the user wrote it.</summary>
    public string Describe(MethodDefinition method)
    {
        var written = Written(method);
        return written.DeclaringType.Name + "." + written.Name;
    }
}
