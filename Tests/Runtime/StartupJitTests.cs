using System.Text.RegularExpressions;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Runtime;

/// <summary>
/// What the runtime costs a woven program at start-up in compiled code: its own code is precompiled (ReadyToRun), but a
/// framework generic instantiated over one of its value types (<c>List&lt;Envelope&gt;</c>, a stack of tuples, a sort of
/// doubles) is not, and the JIT compiled a dozen of them in every program that started a worker: 40 methods and about a
/// tenth of <c>Cycle</c>'s run. The runtime's JIT listing (<c>DOTNET_JitDisasmSummary</c>) is compared with the unwoven
/// program's: the woven run may compile the program's code and the stubs the weaver added, no framework method more.
/// </summary>
[TestClass]
public sealed class StartupJitTests
{
    // "   12: JIT compiled System.Collections.Generic.List`1[Weaving.Execution.Envelope]:Add(…) [Tier0, IL size=…]". Only a
    // first compile counts (Tier0, instrumented or not): a method that runs hot is compiled again at tier 1 whether it
    // was precompiled or not, and how many do depends on how long the run took.
    static readonly Regex compiled = new(@"JIT compiled (?<method>\S.*?) \[(?<tier>[^,\]]*)", RegexOptions.Compiled);

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("Cycle")]
    [DataRow("HandWoven")]
    [DataRow("SharedSink")]
    [DataRow("Pipeline3")]
    public void A_woven_run_through_its_workers_compiles_no_framework_method_the_unwoven_run_does_not(string name)
    {
        var fixture = Fixtures.Get(name);
        var unwoven = FrameworkMethodsCompiled(fixture.UnwovenDll, new Dictionary<string, string>());
        // Every message through its group's queue and worker: the path a program that promotes a group takes.
        var woven = FrameworkMethodsCompiled(fixture.WovenDll, new Dictionary<string, string> { ["WEAVING_INLINE"] = "never" });

        var extra = woven.Except(unwoven).Order(StringComparer.Ordinal).ToList();
        Assert.IsEmpty(extra, $"{name} woven compiled framework methods at run time that unwoven did not (instantiations over the runtime's " +
                              $"types or tuples are not precompiled; keep them out of its paths):{Environment.NewLine}{string.Join(Environment.NewLine, extra)}");
    }

    HashSet<string> FrameworkMethodsCompiled(string dll, Dictionary<string, string> environment)
    {
        var listing = Path.Combine(TestContext.TestRunResultsDirectory ?? Path.GetTempPath(), $"jit-{Guid.NewGuid():N}.txt");
        environment["DOTNET_JitDisasmSummary"] = "1";
        environment["DOTNET_JitStdOutFile"] = listing;
        try
        {
            var result = ProcessRunner.RunDotnet(dll, environment: environment);
            Assert.AreEqual(0, result.ExitCode, $"{dll} exited with {result.ExitCode}: {result.StandardError}");
            Assert.IsTrue(File.Exists(listing), $"the runtime wrote no JIT listing to {listing} (DOTNET_JitStdOutFile)");
            var entries = File.ReadLines(listing)
                .Select(line => compiled.Match(line))
                .Where(m => m.Success)
                .Select(m => (Method: m.Groups["method"].Value, Tier: m.Groups["tier"].Value))
                .ToList();
            Assert.IsTrue(entries.Any(e => e.Tier is "Tier0" or "Instrumented Tier0"),
                $"the JIT listing of {dll} names no method compiled at tier 0: is its format still \"JIT compiled <method> [<tier>, …\"?");
            return entries.Where(e => e.Tier is "Tier0" or "Instrumented Tier0" && e.Method.StartsWith("System.", StringComparison.Ordinal))
                .Select(e => e.Method).ToHashSet(StringComparer.Ordinal);
        }
        finally
        {
            File.Delete(listing);
        }
    }
}
