using Mono.Cecil;
using Mono.Cecil.Cil;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Robustness;

/// <summary>
/// The weaver meets assemblies nobody wrote for it: it must not crash, must emit only IL the JIT accepts, and must say
/// what it did. Real libraries from the restored packages are woven in this process.
/// </summary>
[TestClass]
public sealed class ThirdPartyWeavingTests
{
    public static IEnumerable<object[]> Libraries() =>
    [
        ["RabbitMQ.Client", "RabbitMQ.Client"],
        ["Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.Logging.Abstractions"],
        ["Microsoft.Extensions.DependencyInjection", "Microsoft.Extensions.DependencyInjection"],
        ["Microsoft.Extensions.Configuration", "Microsoft.Extensions.Configuration"],
        ["CommandLineParser", "CommandLine"],
    ];

    static string Library(string package, string assembly) =>
        InProcessWeaving.PackageAssembly(package, assembly) ?? throw new AssertInconclusiveException($"{package} is not restored in the package cache.");

    [TestMethod]
    [DynamicData(nameof(Libraries))]
    public void A_library_without_Stage_methods_is_left_as_it_is_with_a_note(string package, string assembly)
    {
        var woven = InProcessWeaving.Run(Library(package, assembly));
        Assert.AreEqual(0, woven.Errors.Count, string.Join(Environment.NewLine, woven.Errors));
        Assert.AreEqual(0, woven.Weaver.Plan!.Stages.Count);
        Assert.AreEqual(0, woven.Weaver.TouchedMethods.Count);
        Assert.IsTrue(woven.Weaver.Plan.Diagnostics.Any(d => d.Id == "WEAV004"), "a note says why nothing was cut");
        Assert.IsTrue(woven.Messages.Any(m => m.StartsWith("WEAV001:")), "the log ends with the summary: " + string.Join(" | ", woven.Messages));
        using var module = ModuleDefinition.ReadModule(woven.OutputPath);
        Assert.IsFalse(module.Assembly.CustomAttributes.Any(a => a.AttributeType.Namespace == "Weaving.Woven"), "not marked woven");
        Assert.IsFalse(module.AssemblyReferences.Any(r => r.Name == "Weaver"), "no reference to the runtime");
    }

    /// <summary>
    /// Marks real methods of real libraries [Stage], so that the rewriting runs over IL a compiler other than ours
    /// shaped: message types, post stubs, redirected call sites, state objects. The JIT must accept every touched method.
    /// </summary>
    [TestMethod]
    [DynamicData(nameof(Libraries))]
    public void Marking_methods_of_a_real_library_Stage_weaves_into_IL_the_JIT_accepts(string package, string assembly)
    {
        var path = Library(package, assembly);
        var marked = new List<string>();
        var woven = InProcessWeaving.Run(path, (module, runtime) => marked.AddRange(MarkStages(module, runtime, 8)));
        Assert.AreEqual(0, woven.Errors.Count, string.Join(Environment.NewLine, woven.Errors));
        var plan = woven.Weaver.Plan!;
        // Each marked method became a stage, or the build says why it could not (WEAV003).
        var refused = plan.Diagnostics.Where(d => d.Id == "WEAV003").Select(d => d.Message).ToList();
        foreach (var method in marked)
        {
            var name = method.Substring(method.IndexOf(' ') + 1);
            var shortName = name.Substring(0, name.IndexOf('(')).Split("::")[1];
            var typeName = name.Substring(0, name.IndexOf("::")).Split('.', '/').Last();
            Assert.IsTrue(plan.Stages.Any(s => s.Handler.FullName == method) || refused.Any(r => r.Contains($"{typeName}.{shortName} has no effect")),
                $"{method} is neither a stage nor refused: {string.Join(" | ", plan.Diagnostics)}");
        }
        if (package == "RabbitMQ.Client")
            Assert.IsTrue(plan.Stages.Count > 0, "RabbitMQ.Client has handler-shaped static methods: the rewriting must have run over them");
        Assert.IsTrue(woven.Messages.Any(m => m.StartsWith("WEAV001:")));
        var (compiled, _, failures) = woven.CompileTouchedMethods(Path.GetDirectoryName(path)!);
        Assert.AreEqual(0, failures.Count, string.Join(Environment.NewLine, failures));
        Assert.IsTrue(plan.Stages.Count == 0 || compiled > plan.Stages.Count, $"compiled {compiled} methods for {plan.Stages.Count} stages");
        using var result = ModuleDefinition.ReadModule(woven.OutputPath);
        Assert.IsFalse(result.GetTypes().SelectMany(t => t.Methods).Any(m => m.CustomAttributes.Any(a => a.AttributeType.Name == "StageAttribute")),
            "[Stage] is removed from the woven assembly");
    }

    // Static void methods of non-generic types whose parameters are primitives or strings: they can be handlers.
    static IEnumerable<string> MarkStages(ModuleDefinition module, ModuleDefinition runtime, int count)
    {
        var stage = module.ImportReference(runtime.GetType("Weaving.StageAttribute").Methods.Single(m => m.IsConstructor));
        var candidates = module.GetTypes()
            .Where(t => !t.HasGenericParameters && !t.Name.StartsWith('<') && !t.IsInterface)
            .SelectMany(t => t.Methods)
            .Where(m => m.IsStatic && m.HasBody && !m.HasGenericParameters && !m.IsConstructor && !m.IsSpecialName
                        && m.ReturnType.MetadataType == MetadataType.Void && !m.Parameters.Any(p => p.ParameterType.IsByReference))
            // Primitive and string parameters first: those always travel; the weaver refuses the rest with WEAV003.
            .OrderBy(m => m.Parameters.All(p => p.ParameterType.IsPrimitive || p.ParameterType.MetadataType == MetadataType.String) ? 0 : 1)
            .ThenBy(m => m.FullName, StringComparer.Ordinal)
            .Take(count)
            .ToList();
        foreach (var m in candidates) m.CustomAttributes.Add(new CustomAttribute(stage));
        return candidates.Select(m => m.FullName);
    }

    [TestMethod]
    public void Weaving_an_assembly_that_is_already_woven_is_refused_with_a_clear_message()
    {
        var fixture = Fixtures.Get("Owned");
        var again = InProcessWeaving.Run(fixture.WovenDll);
        var error = again.Errors.SingleOrDefault() ?? "";
        StringAssert.StartsWith(error, "WEAV002: Owned is already woven");
        Assert.IsNull(again.Weaver.Plan, "no analysis ran");
    }

    [TestMethod]
    public void Inline_markers_are_removed_and_with_them_the_reference_nothing_else_needs()
    {
        var fixture = Fixtures.Get("NothingToCut");
        var woven = InProcessWeaving.Run(fixture.UnwovenDll, (module, runtime) =>
        {
            var inline = module.ImportReference(runtime.GetType("Weaving.InlineAttribute").Methods.Single(m => m.IsConstructor));
            module.GetType("Program").Methods.Single(m => m.Name == "Check").CustomAttributes.Add(new CustomAttribute(inline));
        });
        Assert.AreEqual(0, woven.Errors.Count, string.Join(Environment.NewLine, woven.Errors));
        Assert.AreEqual(0, woven.Weaver.Plan!.Stages.Count);
        using var module = ModuleDefinition.ReadModule(woven.OutputPath);
        Assert.IsFalse(module.GetType("Program").Methods.Any(m => m.CustomAttributes.Any(a => a.AttributeType.Name == "InlineAttribute")));
        Assert.IsFalse(module.AssemblyReferences.Any(r => r.Name == "Weaver"), "Weaver.dll was referenced only for [Inline]");
    }

    [TestMethod]
    public void A_library_is_cut_only_where_Stage_says_and_Inline_keeps_a_call_synchronous()
    {
        var map = Plans.StageMap.Of("StageLibrary");
        Assert.IsNull(map.Source);
        Plans.PlanAssert.SameSet(["OnMove: OnMove"], map.GroupLayout, "groups");
        Plans.PlanAssert.SameSet(["Inventory.OnMove -> Inventory.Count @23: sync", "Inventory.Receive -> Inventory.OnMove @14: cut",
            "Inventory.Ship -> Inventory.OnMove @17: cut"], map.Sites, "call sites");
        Plans.PlanAssert.SameSet(["Inventory.moves: owned OnMove", "Inventory.stock: owned OnMove"], map.Placements, "placements");
        Plans.PlanAssert.SameSet(["WEAV014@23"], map.DiagnosticLines, "diagnostics");
        using var module = ModuleDefinition.ReadModule(Fixtures.Get("StageLibrary").WovenDll);
        Assert.IsFalse(module.GetTypes().SelectMany(t => t.Methods).Any(m => m.CustomAttributes.Any(a => a.AttributeType.Namespace == "Weaving")),
            "[Stage] and [Inline] are gone from the woven library");
    }

    [TestMethod]
    public void A_woven_library_called_by_an_unwoven_program_gives_the_results_of_the_unwoven_library()
    {
        var fixture = Fixtures.Get("StageLibrary");
        string Use(string dll)
        {
            var context = new InProcessWeaving.IsolatedContext(Path.GetDirectoryName(dll)!, Path.GetDirectoryName(fixture.WovenDll)!);
            try
            {
                var inventory = context.LoadFromAssemblyPath(dll).GetType("Inventory")!;
                void Call(string name, params object[] args) => inventory.GetMethod(name)!.Invoke(null, args);
                Call("Receive", "apples", 30);
                Call("Receive", "pears", 12);
                Call("Ship", "apples", 7);
                return (string)inventory.GetMethod("Report")!.Invoke(null, null)!;
            }
            finally
            {
                context.Unload();
            }
        }
        var unwoven = Use(fixture.UnwovenDll);
        Assert.AreEqual("43 moves; apples=23, pears=12", unwoven);
        Assert.AreEqual(unwoven, Use(fixture.WovenDll));
    }
}
