using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Differential;

/// <summary>The central promise: every program prints the same woven (in memory, the default) as unwoven.</summary>
[TestClass]
public sealed class InMemoryDifferentialTests
{
    public static IEnumerable<object[]> Programs => Fixtures.Differential();

    [TestMethod]
    [DynamicData(nameof(Programs))]
    public void Woven_in_memory_prints_what_unwoven_prints(string name)
    {
        var fixture = Fixtures.Get(name);
        var unwoven = ProcessRunner.RunDotnet(fixture.UnwovenDll);
        var woven = ProcessRunner.RunDotnet(fixture.WovenDll);

        Assert.AreEqual(unwoven.ExitCode, woven.ExitCode, $"exit codes differ.{Environment.NewLine}unwoven: {unwoven}{Environment.NewLine}woven: {woven}");
        Assert.IsFalse(string.IsNullOrWhiteSpace(unwoven.StandardOutput), $"{name} printed nothing unwoven: the comparison would prove nothing.");
        Assert.AreEqual(unwoven.StandardOutput, woven.StandardOutput, $"stdout differs.{Environment.NewLine}woven stderr: {woven.StandardError}");
    }

    [TestMethod]
    [DynamicData(nameof(Programs))]
    public void Woven_assembly_is_really_woven(string name)
    {
        // A differential test passes trivially if the build forgot to weave: check the markers are there.
        var fixture = Fixtures.Get(name);
        var map = Plans.StageMap.Of(name);
        Assert.IsTrue(map.Stages.Count > 0,
            $"{name} has no stage: the woven program runs as the unwoven one did, so comparing their output proves nothing about the weaving. Diagnostics: {string.Join(", ", map.DiagnosticLines)}");
        using (var module = Mono.Cecil.ModuleDefinition.ReadModule(fixture.WovenDll))
            Assert.IsTrue(module.Assembly.CustomAttributes.Any(a => a.AttributeType.FullName == "Weaving.Woven.WovenAssemblyAttribute"),
                $"{name}: the woven dll is not marked woven.");
        CollectionAssert.AreNotEqual(File.ReadAllBytes(fixture.UnwovenDll), File.ReadAllBytes(fixture.WovenDll),
            $"{name}: the woven dll is byte-identical to the unwoven one.");
    }
}
