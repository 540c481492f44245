using System.Security.Cryptography;
using System.Text;
using Fody;
using Mono.Cecil;
using Weaving.Fody.Analysis;
using Weaving.Fody.Plan;
using Weaving.Fody.Rewriting;
using Weaving.Fody.StageMap;

namespace Weaving.Fody;

/// <summary>
/// Cuts an event-loop program into pipeline stages. Reads top to bottom as the steps it takes:
/// options -> analysis (continuations, stage graph, state placement, groups and ordering) -> plan -> rewriting -> stage map.
/// </summary>
public sealed class ModuleWeaver : BaseModuleWeaver
{
    /// <summary>The plan of the last run, for tests.</summary>
    public WeavingPlan? Plan { get; private set; }

    /// <summary>Every method the last run created or edited, for tests that force the JIT over them.</summary>
    public IReadOnlyCollection<MethodDefinition> TouchedMethods { get; private set; } = [];

    public override void Execute()
    {
        WeaverOptions options;
        try
        {
            options = WeaverOptions.Parse(Config);
        }
        catch (WeaverConfigException e)
        {
            WriteError("WEAV005: " + e.Message);
            return;
        }

        if (ModuleDefinition.Assembly.CustomAttributes.Any(a => a.AttributeType.FullName == "Weaving.Woven.WovenAssemblyAttribute"))
        {
            WriteError($"WEAV002: {ModuleDefinition.Assembly.Name.Name} is already woven; weaving it again would cut the generated code. Rebuild from source (a clean build) instead.");
            return;
        }

        // Rewrites that only restate the program, put back when nothing is cut (docs/design.md §1.3): each generic
        // handler instantiation gets a method of its own, objects the source keeps in locals get static fields, and
        // events whose subscribers are known are raised by direct calls.
        var instances = new GenericInstances(ModuleDefinition);
        instances.Apply();
        var source = Analyzer.SourceOf(ModuleDefinition.EntryPoint);
        var objects = new SourceObjectFields(ModuleDefinition, source, SourceObjects.Find(ModuleDefinition, source));
        objects.Apply();
        var preFacts = new ModuleFacts(ModuleDefinition, sourceObjects: objects.Fields);
        var events = new EventSubscriptions(preFacts, new Closure(preFacts), source).Find();
        var raises = new EventRaises(ModuleDefinition, events.Resolved);
        raises.Apply();

        var plan = new Analyzer(ModuleDefinition, options, events, objects.Fields).Analyze();
        Plan = plan;
        if (plan.Stages.Count == 0)
        {
            raises.Undo();
            objects.Undo();
            instances.Undo();
        }
        var buildHash = BuildHash(plan);
        var json = StageMapWriter.Json(plan, buildHash);

        Report(plan, options);

        if (plan.Stages.Count > 0)
        {
            var rewriter = new Rewriter(ModuleDefinition, plan, new RuntimeReferences(ModuleDefinition, FindTypeDefinition));
            rewriter.Apply(buildHash, Encoding.UTF8.GetBytes(json));
            TouchedMethods = rewriter.TouchedMethods.Concat(raises.TouchedMethods).Concat(objects.TouchedMethods)
                .Concat(instances.TouchedMethods).Distinct().ToList();
        }
        else
        {
            // Nothing to cut: the assembly stays as it was, apart from the [Stage]/[Inline] markers, which only the
            // weaver reads, and with them the reference to Weaver.dll when nothing else needs it.
            TouchedMethods = [];
            if (WeavingAttributes.Remove(ModuleDefinition) > 0 && WeavingAttributes.RemoveUnusedRuntimeReference(ModuleDefinition))
                WriteMessage($"Weaving: {plan.AssemblyName} no longer references Weaver.dll: only its attributes did.", MessageImportance.Normal);
        }

        if (options.StageMap) WriteStageMap(plan, json);
        WriteMessage($"WEAV001: Weaving: {plan.AssemblyName}: {StageMapWriter.Summary(plan)}", MessageImportance.High);
    }

    void Report(WeavingPlan plan, WeaverOptions options)
    {
        foreach (var group in plan.Groups)
        {
            var state = group.OwnedFields.Where(f => f.Moves).Select(f => f.Field.Name).ToList();
            WriteMessage($"Weaving: group {group.Name}: stages {string.Join(", ", group.Stages.Select(s => s.Name))}" +
                         (state.Count > 0 ? $"; state {string.Join(", ", state)}" : "; no state"), MessageImportance.High);
        }
        foreach (var d in plan.Diagnostics)
        {
            var text = $"{d.Id}: {d.Message}";
            switch (d.Severity)
            {
                case Severity.Error: WriteError(text, d.SequencePoint); break;
                case Severity.Warning: WriteWarning(text, d.SequencePoint); break;
                default: WriteMessage((d.File is null ? "" : $"{d.File}({d.Line}): ") + text, options.Verbose ? MessageImportance.High : MessageImportance.Normal); break;
            }
        }
        if (!options.Verbose) return;
        foreach (var field in plan.Fields)
            WriteMessage($"Weaving: field {field.Name}: {field.Placement.ToString().ToLowerInvariant()}" +
                         $"{(field.Group is null ? "" : " in " + field.Group.Name)} ({field.Reason})", MessageImportance.High);
        foreach (var site in plan.CallSites)
            WriteMessage($"Weaving: call {site.Caller.Name} -> {site.Callee.Name} at line {site.Line}: {(site.Cut ? "cut" : $"synchronous ({site.Why!.Id}): {site.Why.Detail}")}", MessageImportance.High);
    }

    void WriteStageMap(WeavingPlan plan, string json)
    {
        var basePath = Path.Combine(Path.GetDirectoryName(AssemblyFilePath) ?? ".", Path.GetFileNameWithoutExtension(AssemblyFilePath));
        File.WriteAllText(basePath + ".stages.json", json);
        File.WriteAllText(basePath + ".stages.md", StageMapWriter.Markdown(plan));
    }

    // Identifies the woven build: hosts refuse messages from another one.
    string BuildHash(WeavingPlan plan)
    {
        using var sha = SHA256.Create();
        var bytes = sha.ComputeHash(Encoding.UTF8.GetBytes(ModuleDefinition.Mvid + "|" + StageMapWriter.Json(plan, "")));
        return BitConverter.ToString(bytes, 0, 12).Replace("-", "").ToLowerInvariant();
    }

    public override IEnumerable<string> GetAssembliesForScanning()
    {
        yield return "netstandard";
        yield return "mscorlib";
        yield return "System";
        yield return "System.Runtime";
        yield return "System.Private.CoreLib";
        yield return "Weaver";
    }

    // Woven code calls Weaver.dll at run time: keep the reference.
    public override bool ShouldCleanReference => false;
}
