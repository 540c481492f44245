using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Weaver;

/// <summary>A misconfigured FodyWeavers.xml is a build error that names the problem and says what to write instead.</summary>
[TestClass]
public sealed class BadConfigTests
{
    static ProcessResult Build(string weaversFile)
    {
        var output = Path.Combine(Path.GetTempPath(), "weaving-badconfig-" + Guid.NewGuid().ToString("N"));
        try
        {
            var project = Path.Combine(Fixtures.RepoRoot, "TestAssemblies", "BadConfig", "BadConfig.csproj");
            return ProcessRunner.Run("dotnet",
                ["build", project, "-c", Fixtures.Configuration, "-o", output, "-p:WeaversFile=" + weaversFile, "-nodeReuse:false"],
                TimeSpan.FromMinutes(4),
                new Dictionary<string, string> { ["MSBUILDDISABLENODEREUSE"] = "1" });
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    [TestMethod]
    public void An_unknown_attribute_fails_the_build_naming_it_and_listing_the_valid_ones()
    {
        var result = Build("unknown-attribute.xml");
        Assert.AreNotEqual(0, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardOutput, "unknown attribute 'Verbos'");
        foreach (var valid in new[] { "StageMap", "Verbose", "Exclude" })
            StringAssert.Contains(result.StandardOutput, valid);
    }

    [TestMethod]
    public void A_malformed_boolean_fails_the_build_saying_what_to_write()
    {
        var result = Build("bad-boolean.xml");
        Assert.AreNotEqual(0, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardOutput, "StageMap=\"true\" or StageMap=\"false\"");
    }
}
