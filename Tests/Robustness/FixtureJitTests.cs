using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Robustness;

/// <summary>Every fixture, woven again in this process from its unwoven copy: the JIT accepts every method the weaver touched.</summary>
[TestClass]
public sealed class FixtureJitTests
{
    public static IEnumerable<object[]> Programs() => Fixtures.Differential().Where(f => (string)f[0] is not "HandWoven");

    [TestMethod]
    [DynamicData(nameof(Programs))]
    public void Every_method_the_weaver_touches_in_a_fixture_compiles(string name)
    {
        var fixture = Fixtures.Get(name);
        var output = Directory.CreateTempSubdirectory("weaving-jit-").FullName;
        var woven = InProcessWeaving.Run(fixture.UnwovenDll, outputDirectory: output);
        Assert.AreEqual(0, woven.Errors.Count, string.Join(Environment.NewLine, woven.Errors));
        var (_, _, failures) = woven.CompileTouchedMethods(fixture.OutputDirectory);
        Assert.AreEqual(0, failures.Count, string.Join(Environment.NewLine, failures));
    }
}
